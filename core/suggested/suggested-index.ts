import type { Ranker } from "../funnel/types";
import type { ScoredId } from "../query/stores";
import { AccountVectors } from "../serving/account-neighbours";
import { neighboursOf } from "../serving/serving-index";

/** Engagers of an account whose other authors count for two-hop: the most recent ones (the graph keeps them last). */
export const TWO_HOP_ENGAGERS = 50;
/** Account-neighbour lists kept per isolate; popular seed accounts come back request after request. */
const NEIGHBOUR_CACHE_SIZE = 4096;

/**
 * What Suggested Posts derives once per bundle version and shares across requests: the account vectors for
 * `account_nn` and a bounded cache of their neighbour lists (brute force is ~0.4 M multiply-adds per seed; a
 * heavy user has 20 H seeds, mostly the same popular accounts as everyone else's).
 */
export class SuggestedIndex {
  readonly accountVectors: AccountVectors | undefined;
  private readonly neighbourCache = new Map<string, readonly ScoredId[]>();

  private constructor(private readonly ranker: Ranker) {
    const embeddings = ranker.assets.accountEmbeddings;
    this.accountVectors = embeddings ? new AccountVectors(embeddings.vectors, embeddings.dim) : undefined;
  }

  private static readonly byRanker = new WeakMap<Ranker, SuggestedIndex>();

  static of(ranker: Ranker): SuggestedIndex {
    let index = SuggestedIndex.byRanker.get(ranker);
    if (!index) SuggestedIndex.byRanker.set(ranker, (index = new SuggestedIndex(ranker)));
    return index;
  }

  /** The `k` nearest accounts to `account` by account embeddings, best first, never the account itself. Throws without embeddings. */
  accountNeighbours(account: number, k: number): readonly ScoredId[] {
    const vectors = this.accountVectors;
    if (!vectors) throw new Error(`bundle ${this.ranker.assets.version} has no account embeddings (manifest models.accounts)`);
    const key = `${account}:${k}`;
    const cached = this.neighbourCache.get(key);
    if (cached) {
      // refresh its place: the Map's insertion order is the eviction order
      this.neighbourCache.delete(key);
      this.neighbourCache.set(key, cached);
      return cached;
    }
    const list = (vectors.neighboursOfEach([account], k)[0] ?? []).map(({ id, score }) => ({ id, score }));
    this.neighbourCache.set(key, list);
    if (this.neighbourCache.size > NEIGHBOUR_CACHE_SIZE) this.neighbourCache.delete(this.neighbourCache.keys().next().value as string);
    return list;
  }

  /**
   * Accounts engaged by the most recent engagers of `account` (other than `excludeUser`), by how many of them
   * engaged each; ties by lower row. `account` itself is left out. From the bundle's engagement graph.
   */
  twoHop(account: number, max: number, excludeUser: number): ScoredId[] {
    const { index } = this.ranker;
    const engagers = neighboursOf(index.authorUsers, account);
    const counts = new Map<number, number>();
    for (const user of engagers.subarray(Math.max(0, engagers.length - TWO_HOP_ENGAGERS))) {
      if (user === excludeUser) continue;
      for (const other of neighboursOf(index.userAuthors, user)) if (other !== account) counts.set(other, (counts.get(other) ?? 0) + 1);
    }
    return [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, max)
      .map(([id, count]) => ({ id, score: count }));
  }
}
