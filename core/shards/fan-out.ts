import type { ScoredId } from "../query/stores";

/** One shard's answer: its best items for a vector (global item rows, best first) and the bundle version it holds. */
export interface ShardAnswer {
  readonly shard: number;
  readonly version: string;
  readonly keys: Int32Array;
  /** The index's distances (1 − inner product), aligned with `keys`: sent as the index computed them, so a merged
   * score is the one the whole index would give. */
  readonly distances: Float32Array;
  /** The shard's own time for the search, ms. */
  readonly ms: number;
}

/** Asks one shard for its best `k` items for `vector` under bundle `version`. */
export type ShardSearch = (version: string, vector: Float32Array, k: number) => Promise<ShardAnswer>;

export interface FanOutOptions {
  /** The Worker's bundle version: an answer from a shard holding another version is not used. */
  readonly version: string;
  /** A shard that has not answered after this long is left out. */
  readonly timeoutMs: number;
}

export interface FanOutResult {
  /** The best `k` items over the shards that answered, best first (ties: lower row first). */
  readonly hits: ScoredId[];
  /** One line per shard left out, naming it and why: the feed reports these as `degraded`. */
  readonly problems: string[];
  /** Each shard's own search time, ms (NaN for a shard left out). */
  readonly shardMs: number[];
}

/** A catalogue's item index held elsewhere (item shards): the two-tower source searches it instead of the bundle's. */
export interface RemoteItemIndex {
  search(vector: Float32Array, k: number): Promise<FanOutResult>;
}

/** The shards behind one interface, for one bundle version. */
export function shardedItemIndex(shards: readonly ShardSearch[], options: FanOutOptions): RemoteItemIndex {
  return { search: (vector, k) => searchShards(shards, vector, k, options) };
}

/**
 * Sends the vector to every shard at once and merges their top-k into the catalogue's top-k. Every shard returns its
 * own best `k`, so the merge is exact: the global best k are among them. A shard that fails, is slower than the
 * budget or answers for another bundle version is left out, and the result says so instead of failing.
 */
export async function searchShards(shards: readonly ShardSearch[], vector: Float32Array, k: number, options: FanOutOptions): Promise<FanOutResult> {
  const problems: string[] = [];
  const shardMs = new Array<number>(shards.length).fill(Number.NaN);
  const answers = await Promise.all(
    shards.map(async (search, shard) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), options.timeoutMs);
      });
      try {
        const answer = await Promise.race([search(options.version, vector, k), timeout]);
        if (answer === "timeout") {
          problems.push(`item shard ${shard} did not answer within ${options.timeoutMs} ms`);
          return undefined;
        }
        if (answer.version !== options.version) {
          problems.push(`item shard ${shard} holds bundle ${answer.version}, not ${options.version}: not used`);
          return undefined;
        }
        if (answer.keys.length !== answer.distances.length) {
          problems.push(`item shard ${shard} answered ${answer.keys.length} items with ${answer.distances.length} distances: not used`);
          return undefined;
        }
        shardMs[shard] = answer.ms;
        return answer;
      } catch (error) {
        // one line per shard: a reason travels in the response's `degraded` list
        problems.push(`item shard ${shard} failed: ${(error as Error).message.replace(/\s+/g, " ")}`);
        return undefined;
      } finally {
        if (timer !== null) clearTimeout(timer);
      }
    }),
  );
  return { hits: mergeTopK(answers, k), problems: problems.sort(), shardMs };
}

/** The best `k` of the answers' items (score = 1 − distance), ties to the lower row; an item named twice counts once. */
export function mergeTopK(answers: readonly (Pick<ShardAnswer, "keys" | "distances"> | undefined)[], k: number): ScoredId[] {
  const all: { id: number; distance: number }[] = [];
  for (const answer of answers) {
    if (answer === undefined) continue;
    for (let i = 0; i < answer.keys.length; i++) all.push({ id: answer.keys[i] as number, distance: answer.distances[i] as number });
  }
  all.sort((a, b) => a.distance - b.distance || a.id - b.id);
  const seen = new Set<number>();
  const best: ScoredId[] = [];
  for (const hit of all) {
    if (best.length >= k) break;
    if (seen.has(hit.id)) continue;
    seen.add(hit.id);
    best.push({ id: hit.id, score: 1 - hit.distance });
  }
  return best;
}
