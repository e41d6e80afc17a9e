import type { ScoredId } from "../query/stores";
import { AccountVectors } from "./account-neighbours";
import type { BundleTables } from "./bundle-tables";
import { neighboursOf, type ServingIndex } from "./serving-index";

/** Engagers of an account whose other authors count for two-hop: the most recent ones (the graph keeps them last). */
export const TWO_HOP_ENGAGERS = 50;
/** Account-neighbour lists kept per isolate; popular seed accounts come back request after request. */
const NEIGHBOUR_CACHE_SIZE = 4096;

/** A bounded LRU over a Map (its insertion order is the eviction order). */
function remembered(cache: Map<string, readonly ScoredId[]>, key: string, compute: () => readonly ScoredId[]): readonly ScoredId[] {
  const cached = cache.get(key);
  if (cached) {
    cache.delete(key);
    cache.set(key, cached);
    return cached;
  }
  const list = compute();
  cache.set(key, list);
  if (cache.size > NEIGHBOUR_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return list;
}

/**
 * The account graph's walks, derived once per bundle version and shared across requests: the account vectors for
 * `account_nn` with a bounded cache of their neighbour lists (brute force is ~0.4 M multiply-adds per seed; a
 * heavy user has 20 seeds, mostly the same popular accounts as everyone else's), and the two-hop walk.
 */
export class GraphIndex {
  private vectors: AccountVectors | undefined | null = null;
  private readonly neighbourCache = new Map<string, readonly ScoredId[]>();
  private readonly itemLists = new Map<string, readonly ScoredId[]>();

  private constructor(private readonly tables: BundleTables, private readonly index: ServingIndex) {}

  /** The account vectors for `account_nn`, normalised on first use (Explore's sources never ask for them). */
  get accountVectors(): AccountVectors | undefined {
    if (this.vectors === null) {
      const embeddings = this.tables.accountEmbeddings;
      this.vectors = embeddings ? new AccountVectors(embeddings.vectors, embeddings.dim) : undefined;
    }
    return this.vectors;
  }

  private static readonly byTables = new WeakMap<BundleTables, GraphIndex>();

  /** The bundle's graph index (one per decoded bundle: `tables` and `index` come from the same version). */
  static of(tables: BundleTables, index: ServingIndex): GraphIndex {
    let graph = GraphIndex.byTables.get(tables);
    if (!graph) GraphIndex.byTables.set(tables, (graph = new GraphIndex(tables, index)));
    return graph;
  }

  /** The `k` nearest accounts to `account` by account embeddings, best first, never the account itself. Throws without embeddings. */
  accountNeighbours(account: number, k: number): readonly ScoredId[] {
    const vectors = this.accountVectors;
    if (!vectors) throw new Error(`bundle ${this.tables.version} has no account embeddings (manifest models.accounts)`);
    return remembered(this.neighbourCache, `${account}:${k}`, () => (vectors.neighboursOfEach([account], k)[0] ?? []).map(({ id, score }) => ({ id, score })));
  }

  /**
   * An item's list from a bundle-wide source (`kind`: its ANN neighbours, its co-occurring items), computed once per
   * isolate while it stays among the most recently used: popular items are every other user's seeds. The lists
   * are shared, so callers must not change them.
   */
  itemList(kind: string, item: number, k: number, compute: () => readonly ScoredId[]): readonly ScoredId[] {
    return remembered(this.itemLists, `${kind}:${item}:${k}`, compute);
  }

  /**
   * Accounts engaged by the most recent engagers of `account` (other than `excludeUser`), by how many of them
   * engaged each; ties by lower row. `account` itself is left out. From the bundle's engagement graph.
   */
  twoHop(account: number, max: number, excludeUser: number): ScoredId[] {
    const { index } = this;
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
