// How good are an embedding space's neighbours? The task account_nn serves in Suggested Posts: from the accounts a
// user engaged with (seeds), find accounts they will engage with next that they have not engaged with before.

import type { EventTable, ItemTable } from "../../core/data/dataset";
import { itemTags } from "../../core/data/dataset";
import type { AccountVectors, ScoredAccount } from "../../core/serving/account-neighbours";
import { topK } from "../../core/util/top-k";
import { Rng } from "../autodiff";
import { engagedEvents } from "./sequences";

export interface NewAuthorCase {
  readonly user: number;
  /** The user's most recent distinct engaged authors of the training window, most recent first (at most maxSeeds). */
  readonly seeds: Int32Array;
  /** Every author the user engaged with in the training window (never a target, never recommended). */
  readonly known: ReadonlySet<number>;
  /** Authors the user engaged with in the test window and never in the training window. */
  readonly targets: ReadonlySet<number>;
}

/** One case per user with at least one training-window author and at least one new author in the test window. */
export function newAuthorCases(train: EventTable, test: EventTable, items: ItemTable, maxSeeds: number): NewAuthorCase[] {
  if (!Number.isInteger(maxSeeds) || maxSeeds < 1) throw new Error(`newAuthorCases: maxSeeds must be a positive integer, got ${maxSeeds}`);
  const recent = new Map<number, number[]>(); // user → authors, most recent last (re-engaging moves an author to the end)
  const engagedTrain = engagedEvents(train);
  for (let e = 0; e < train.size; e++) {
    if (engagedTrain[e] === 0) continue;
    const user = train.user[e] as number;
    const author = items.author[train.item[e] as number] as number;
    let list = recent.get(user);
    if (list === undefined) recent.set(user, (list = []));
    const at = list.lastIndexOf(author);
    if (at >= 0) list.splice(at, 1);
    list.push(author);
  }
  const targets = new Map<number, Set<number>>();
  const engagedTest = engagedEvents(test);
  for (let e = 0; e < test.size; e++) {
    if (engagedTest[e] === 0) continue;
    const user = test.user[e] as number;
    const known = recent.get(user);
    if (known === undefined) continue;
    const author = items.author[test.item[e] as number] as number;
    if (known.includes(author)) continue;
    let set = targets.get(user);
    if (set === undefined) targets.set(user, (set = new Set()));
    set.add(author);
  }
  return [...targets.keys()].sort((a, b) => a - b).map((user) => {
    const list = recent.get(user) as number[];
    return { user, seeds: Int32Array.from(list.slice(-maxSeeds).reverse()), known: new Set(list), targets: targets.get(user) as Set<number> };
  });
}

/**
 * The same cases with the `head` authors (the most popular ones) made off-limits: never a target, never recommended
 * (they join `known`). Cases left without a target are dropped. On a popularity-heavy data set the plain task mostly
 * rewards putting popular authors near everything; beyond the head, only neighbours that carry the user's taste help.
 */
export function beyondHead(cases: readonly NewAuthorCase[], head: ReadonlySet<number>): NewAuthorCase[] {
  const out: NewAuthorCase[] = [];
  for (const c of cases) {
    const targets = new Set([...c.targets].filter((author) => !head.has(author)));
    if (targets.size === 0) continue;
    out.push({ user: c.user, seeds: c.seeds, known: new Set([...c.known, ...head]), targets });
  }
  return out;
}

/**
 * The same cases with targets limited to `universe`; cases left without a target are dropped. With every ranker also
 * limited to `universe` (maskVectors, a filtered popularity order), methods are compared on the same candidate
 * authors, so a method cannot win by covering fewer, more popular authors.
 */
export function targetsWithin(cases: readonly NewAuthorCase[], universe: ReadonlySet<number>): NewAuthorCase[] {
  const out: NewAuthorCase[] = [];
  for (const c of cases) {
    const targets = new Set([...c.targets].filter((author) => universe.has(author)));
    if (targets.size > 0) out.push({ ...c, targets });
  }
  return out;
}

/** A copy of [rows × dim] vectors with every row outside `keep` zeroed (AccountVectors then never returns it). */
export function maskVectors(vectors: Float32Array, dim: number, keep: ReadonlySet<number>): Float32Array {
  if (vectors.length % dim !== 0) throw new Error(`maskVectors: ${vectors.length} values are not a whole number of ${dim}-dim rows`);
  const out = new Float32Array(vectors.length);
  for (const row of keep) out.set(vectors.subarray(row * dim, (row + 1) * dim), row * dim);
  return out;
}

/** Ranks new authors for a case: at most `n` author rows, best first, none of them in `known`. */
export type AuthorRanker = (seeds: Int32Array, known: ReadonlySet<number>, n: number) => ArrayLike<number>;

export interface RecallReport {
  readonly users: number;
  /** Mean over users of |top-N ∩ targets| / |targets|. */
  readonly recall: Record<number, number>;
  /** Share of users with at least one target in the top N. */
  readonly hitRate: Record<number, number>;
}

export function recallAtN(cases: readonly NewAuthorCase[], rank: AuthorRanker, ns: readonly number[]): RecallReport {
  if (cases.length === 0) throw new Error("recallAtN: no cases to evaluate");
  const maxN = Math.max(...ns);
  const recall: Record<number, number> = {};
  const hitRate: Record<number, number> = {};
  for (const n of ns) recall[n] = hitRate[n] = 0;
  for (const c of cases) {
    const ranked = rank(c.seeds, c.known, maxN);
    if (ranked.length > maxN) throw new Error(`recallAtN: the ranker returned ${ranked.length} authors for N=${maxN}`);
    let hits = 0;
    const hitsAt = new Int32Array(ranked.length + 1);
    for (let i = 0; i < ranked.length; i++) {
      const author = ranked[i] as number;
      if (c.known.has(author)) throw new Error(`recallAtN: the ranker recommended author ${author}, whom user ${c.user} already engaged with`);
      if (c.targets.has(author)) hits++;
      hitsAt[i + 1] = hits;
    }
    for (const n of ns) {
      const h = hitsAt[Math.min(n, ranked.length)] as number;
      recall[n] = (recall[n] as number) + h / c.targets.size;
      hitRate[n] = (hitRate[n] as number) + (h > 0 ? 1 : 0);
    }
  }
  for (const n of ns) {
    recall[n] = (recall[n] as number) / cases.length;
    hitRate[n] = (hitRate[n] as number) / cases.length;
  }
  return { users: cases.length, recall, hitRate };
}

/** Authors by descending score, excluding `known`, at most n (ties: lower row first). */
export function topAuthorsExcept(order: ArrayLike<number>, known: ReadonlySet<number>, n: number): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < order.length && out.length < n; i++) {
    const author = order[i] as number;
    if (!known.has(author)) out.push(author);
  }
  return Int32Array.from(out);
}

/**
 * Each author's nearest accounts (itself excluded), computed once per author and truncated to `length`: evaluating
 * thousands of users re-uses the same few thousand seed authors, so brute force per user would repeat the work.
 * A list of length N + |known| is enough to rank a user's top N exactly (see embeddingRanker).
 */
export class NeighbourCache {
  private readonly lists = new Map<number, readonly ScoredAccount[]>();

  constructor(readonly space: AccountVectors, readonly length: number) {
    if (!Number.isInteger(length) || length < 1) throw new Error(`NeighbourCache: length must be a positive integer, got ${length}`);
  }

  of(author: number): readonly ScoredAccount[] {
    let list = this.lists.get(author);
    if (list === undefined) this.lists.set(author, (list = (this.space.neighboursOfEach([author], this.length)[0] as ScoredAccount[])));
    return list;
  }
}

/**
 * Ranking by one embedding space: accounts nearest to any seed (score = max cosine over seeds, as
 * AccountVectors.nearestToAny), the user's known authors filtered out. Exact when the cache holds at least
 * n + |known| neighbours per author: an author ranked r-th in the result is, for the seed that gives its score, beaten
 * only by known authors or by authors ranked above it, so it sits within that seed's first r + |known| neighbours.
 */
export function embeddingRanker(cache: NeighbourCache): AuthorRanker {
  return (seeds, known, n) => {
    if (cache.length < n + known.size) throw new Error(`embeddingRanker: the cache keeps ${cache.length} neighbours, fewer than N + known = ${n + known.size}`);
    const best = new Map<number, number>();
    for (const seed of seeds) {
      for (const { id, score } of cache.of(seed)) {
        if (known.has(id)) continue;
        const previous = best.get(id);
        if (previous === undefined || score > previous) best.set(id, score);
      }
    }
    const ids = Int32Array.from(best.keys()).sort();
    const order = topK(Float64Array.from(ids, (id) => best.get(id) as number), n);
    return Int32Array.from(order, (i) => ids[i] as number);
  };
}

export interface OperatorReport {
  readonly users: number;
  /** Mean number of distinct new authors the union of per-seed lists holds. */
  readonly meanCandidates: number;
  /** Mean over users of |union ∩ targets| / |targets|. */
  readonly recall: number;
  readonly hitRate: number;
  /** Popularity given the same number of authors per user (top-|union| popular authors the user does not know). */
  readonly popularityRecallSameSize: number;
  readonly popularityHitRateSameSize: number;
}

/**
 * The operator as a query runs it: `engaged(max=seeds).account_nn(k)` is the union of each seed's k nearest
 * accounts (seed order, an account once). Measured against popularity at the same candidate count per user, since a
 * larger union trivially recalls more.
 */
export function operatorRecall(cases: readonly NewAuthorCase[], cache: NeighbourCache, k: number, popularityOrder: ArrayLike<number>): OperatorReport {
  if (cases.length === 0) throw new Error("operatorRecall: no cases to evaluate");
  let candidates = 0, recall = 0, hits = 0, popRecall = 0, popHits = 0;
  for (const c of cases) {
    // each seed's k nearest with every seed excluded (AccountVectors.neighboursOfEach), from the cached lists
    const seeds = new Set(c.seeds);
    if (cache.length < k + seeds.size) throw new Error(`operatorRecall: the cache keeps ${cache.length} neighbours, fewer than k + seeds = ${k + seeds.size}`);
    const union = new Set<number>();
    for (const seed of c.seeds) {
      let taken = 0;
      for (const { id } of cache.of(seed)) {
        if (taken === k) break;
        if (seeds.has(id)) continue;
        taken++;
        if (!c.known.has(id)) union.add(id);
      }
    }
    candidates += union.size;
    let found = 0;
    for (const author of union) if (c.targets.has(author)) found++;
    recall += found / c.targets.size;
    hits += found > 0 ? 1 : 0;
    let popFound = 0;
    for (const author of topAuthorsExcept(popularityOrder, c.known, union.size)) if (c.targets.has(author)) popFound++;
    popRecall += popFound / c.targets.size;
    popHits += popFound > 0 ? 1 : 0;
  }
  const users = cases.length;
  return { users, meanCandidates: candidates / users, recall: recall / users, hitRate: hits / users, popularityRecallSameSize: popRecall / users, popularityHitRateSameSize: popHits / users };
}

/** Each author's tags: the union of its items' tags (sorted tag rows). */
export function authorTagSets(items: ItemTable): Int32Array[] {
  const sets: Set<number>[] = Array.from({ length: items.authors.size }, () => new Set<number>());
  for (let item = 0; item < items.author.length; item++) for (const tag of itemTags(items, item)) (sets[items.author[item] as number] as Set<number>).add(tag);
  return sets.map((set) => Int32Array.from(set).sort());
}

function shareTag(a: Int32Array, b: Int32Array): boolean {
  for (const tag of a) if (b.includes(tag)) return true;
  return false;
}

export interface TagAgreement {
  /** Share of (author, one of its k nearest) pairs with a common tag. */
  readonly neighbourPairs: number;
  /** The same share over random pairs of embedded authors: what chance gives. */
  readonly randomPairs: number;
  readonly pairs: number;
}

/** Sanity signal: neighbours should share a tag more often than random pairs do. Queries are `queryAuthors` that have a vector. */
export function tagAgreement(cache: NeighbourCache, queryAuthors: readonly number[], k: number, tags: readonly Int32Array[], seed: number): TagAgreement {
  const space = cache.space;
  if (cache.length < k) throw new Error(`tagAgreement: the cache keeps ${cache.length} neighbours, fewer than k = ${k}`);
  const queries = queryAuthors.filter((author) => space.hasVector(author));
  if (queries.length === 0) throw new Error("tagAgreement: no query author has a vector");
  let pairs = 0, shared = 0;
  for (const author of queries) {
    for (const neighbour of cache.of(author).slice(0, k)) {
      pairs++;
      if (shareTag(tags[author] as Int32Array, tags[neighbour.id] as Int32Array)) shared++;
    }
  }
  const rng = new Rng(seed);
  let randomShared = 0;
  const samples = Math.max(1, pairs);
  for (let s = 0; s < samples; s++) {
    const a = queries[rng.int(queries.length)] as number;
    let b = space.embedded[rng.int(space.embedded.length)] as number;
    while (b === a && space.embedded.length > 1) b = space.embedded[rng.int(space.embedded.length)] as number;
    if (shareTag(tags[a] as Int32Array, tags[b] as Int32Array)) randomShared++;
  }
  return { neighbourPairs: pairs === 0 ? 0 : shared / pairs, randomPairs: randomShared / samples, pairs };
}
