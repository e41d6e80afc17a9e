import type { AnnIndex } from "../ann/ann-index";
import { scoredNeighbours } from "../ann/two-tower-search";
import type { ScoredId } from "../query/stores";

/**
 * The best `n` of a bundle index's answer and the live index's own (exact: the live index is small, ≤ MAX_LIVE_ITEMS),
 * by inner product, best first. Both indexes hold vectors of one tower in one space, so their scores compare.
 */
export function withLiveNeighbours(bundleHits: readonly ScoredId[], liveIndex: AnnIndex | undefined, query: Float32Array, n: number): readonly ScoredId[] {
  if (!liveIndex || n === 0) return bundleHits;
  const size = liveIndex.size;
  if (size === 0) return bundleHits;
  const live = scoredNeighbours(liveIndex.search(query, Math.min(n, size), { exact: true }));
  const merged: ScoredId[] = [];
  let b = 0;
  let l = 0;
  while (merged.length < n && (b < bundleHits.length || l < live.length)) {
    const fromBundle = bundleHits[b];
    const fromLive = live[l];
    if (fromLive === undefined || (fromBundle !== undefined && fromBundle.score >= fromLive.score)) {
      merged.push(fromBundle as ScoredId);
      b++;
    } else {
      merged.push(fromLive);
      l++;
    }
  }
  return merged;
}
