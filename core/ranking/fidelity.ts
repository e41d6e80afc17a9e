import { topK } from "../util/top-k";

/**
 * |top-`keep` by `candidate` ∩ top-`keep` by `reference`| / keep over the same pool: how much of what the
 * reference ranking (the second stage) would pick survives a cheaper ranking's cut (the first stage).
 */
export function topKOverlap(reference: ArrayLike<number>, candidate: ArrayLike<number>, keep: number): number {
  const k = Math.min(keep, reference.length);
  if (k === 0) return 0;
  const kept = new Set(topK(reference, k));
  let overlap = 0;
  for (const i of topK(candidate, k)) if (kept.has(i)) overlap++;
  return overlap / k;
}
