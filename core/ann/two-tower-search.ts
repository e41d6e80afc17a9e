import type { ScoredId } from "../query/stores";
import type { AnnIndex, AnnSearchResult } from "./ann-index";

/**
 * The two-tower's index search for a user embedding: the best `n` items, by an exact scan while the index holds at
 * most `exactMaxItemsPerResult` items per result, else by the graph walk. The bundle's whole index and each item
 * shard's slice of it search the same way, so a sharded catalogue finds what one index would.
 */
export function searchTwoTower(index: AnnIndex, embedding: Float32Array, n: number, exactMaxItemsPerResult: number): AnnSearchResult {
  const size = index.size;
  const wanted = Math.min(n, size);
  return index.search(embedding, wanted, { exact: size <= exactMaxItemsPerResult * wanted });
}

/** An ANN answer as scored ids, score = inner product (1 − distance); a loop, not `Array.from` over typed arrays (one iterator step per key). */
export function scoredNeighbours(found: AnnSearchResult): ScoredId[] {
  const list: ScoredId[] = new Array(found.keys.length);
  for (let i = 0; i < list.length; i++) list[i] = { id: found.keys[i] as number, score: 1 - (found.distances[i] as number) };
  return list;
}
