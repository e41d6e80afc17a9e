import { isKnown } from "../data/dataset";
import { ENGAGED_BITS } from "../features/engagement";
import { historyOf } from "../serving/assets";
import type { BundleTables } from "../serving/bundle-tables";
import { quantile } from "../util/sorted";
import { rowDot } from "../util/typed-arrays";

const HOUR_MS = 3_600_000;

/**
 * How much a list looks like the user's Home (the Suggested Posts design's "feels like Home"), averaged over users
 * who engaged with something on a Home surface in training: the list's media-type mix against Home's, the age of
 * what it shows against the age at which the user engaged on Home, and how close its authors are to the user's
 * Home authors in the account embeddings.
 */
export interface HomeLikeness {
  /** Users with a Home engagement in training (the others have no Home to compare with). */
  readonly users: number;
  /** Mean total variation distance between the list's media-type mix and the user's Home mix: 0 = the same mix, 1 = disjoint. */
  readonly type_mix_tv: number;
  /** Mean over users of the list items' median age at the end of training, hours (items of unknown age left out). */
  readonly list_median_age_hours: number;
  /** Mean over users of the median age of what they engaged with on Home, at the time they engaged, hours. */
  readonly home_median_age_hours: number;
  /** Mean over users of |list median age − Home median age|, hours. */
  readonly age_gap_hours: number;
  /**
   * Mean over users of the Wasserstein-1 distance between the list's ages (at the end of training) and the ages at
   * which the user engaged on Home, hours: the whole age distributions rather than their medians, so a data set whose
   * items share a few upload days (KuaiRand: three dates) still shows a list moving towards Home's ages.
   */
  readonly age_distance_hours: number;
  /** Mean cosine between a listed item's author and the centroid of the user's Home authors (account embeddings; NaN without them). */
  readonly author_similarity: number;
}

/** One user's list: the user's bundle row and the listed items as bundle rows, best first. */
export interface UserList {
  readonly userRow: number;
  readonly items: ArrayLike<number>;
}

/** One user's list against their Home; undefined when the user has no Home engagement in training or the list is empty. */
export interface UserHomeLikeness {
  readonly typeMixTv: number;
  /** Median age of the list at the end of training, and of what the user engaged with on Home when they did (hours); undefined without known ages. */
  readonly ages: { readonly list: number; readonly home: number; readonly distance: number } | undefined;
  /** Mean cosine of the listed authors to the Home authors' centroid; undefined without account embeddings. */
  readonly authorSimilarity: number | undefined;
}

export function userHomeLikeness(tables: BundleTables, home: ReadonlySet<number>, { userRow, items }: UserList): UserHomeLikeness | undefined {
  const { type, createdAt, author } = tables.items;
  const accounts = tables.accountEmbeddings;
  const engaged = historyOf(tables.histories, userRow).filter((event) => home.has(event.surface) && (event.labels & ENGAGED_BITS) !== 0);
  if (engaged.length === 0 || items.length === 0) return undefined;
  const typeMixTv = totalVariation(mix(engaged.map((event) => type[event.item] as number)), mix(Array.from(items, (item) => type[item] as number)));
  const homeAges = engaged.filter((event) => isKnown(createdAt[event.item] as number)).map((event) => (event.ts - (createdAt[event.item] as number)) / HOUR_MS);
  const listAges = Array.from(items).filter((item) => isKnown(createdAt[item] as number)).map((item) => (tables.asOfMs - (createdAt[item] as number)) / HOUR_MS);
  const ages = homeAges.length > 0 && listAges.length > 0 ? { list: median(listAges), home: median(homeAges), distance: wasserstein1(listAges, homeAges) } : undefined;
  let authorSimilarity: number | undefined;
  if (accounts) {
    const centroid = new Float64Array(accounts.dim);
    for (const event of engaged) addRow(centroid, accounts.vectors, author[event.item] as number, accounts.dim);
    const centroidNorm = Math.hypot(...centroid);
    if (centroidNorm > 0) {
      let total = 0;
      let counted = 0;
      for (const item of Array.from(items)) {
        const cosine = cosineToCentroid(accounts.vectors, author[item] as number, accounts.dim, centroid, centroidNorm);
        if (cosine === undefined) continue;
        total += cosine;
        counted++;
      }
      if (counted > 0) authorSimilarity = total / counted;
    }
  }
  return { typeMixTv, ages, authorSimilarity };
}

export function homeLikeness(tables: BundleTables, homeSurfaces: readonly number[], lists: Iterable<UserList>): HomeLikeness {
  const home = new Set(homeSurfaces);
  const sums = { tv: 0, listAge: 0, homeAge: 0, gap: 0, distance: 0, ageUsers: 0, similarity: 0, similarityUsers: 0 };
  let users = 0;
  for (const list of lists) {
    const user = userHomeLikeness(tables, home, list);
    if (!user) continue;
    users++;
    sums.tv += user.typeMixTv;
    if (user.ages) {
      sums.homeAge += user.ages.home;
      sums.listAge += user.ages.list;
      sums.gap += Math.abs(user.ages.list - user.ages.home);
      sums.distance += user.ages.distance;
      sums.ageUsers++;
    }
    if (user.authorSimilarity !== undefined) {
      sums.similarity += user.authorSimilarity;
      sums.similarityUsers++;
    }
  }
  const mean = (sum: number, n: number) => (n === 0 ? Number.NaN : sum / n);
  return {
    users,
    type_mix_tv: mean(sums.tv, users),
    list_median_age_hours: mean(sums.listAge, sums.ageUsers),
    home_median_age_hours: mean(sums.homeAge, sums.ageUsers),
    age_gap_hours: mean(sums.gap, sums.ageUsers),
    age_distance_hours: mean(sums.distance, sums.ageUsers),
    author_similarity: mean(sums.similarity, sums.similarityUsers),
  };
}

function mix(values: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const value of values) out.set(value, (out.get(value) ?? 0) + 1 / values.length);
  return out;
}

/** ½ Σ |p − q| over the union of both supports. */
export function totalVariation(p: ReadonlyMap<number, number>, q: ReadonlyMap<number, number>): number {
  let sum = 0;
  for (const key of new Set([...p.keys(), ...q.keys()])) sum += Math.abs((p.get(key) ?? 0) - (q.get(key) ?? 0));
  return sum / 2;
}

/** W1 between two samples' empirical distributions: ∫₀¹ |Q_a(q) − Q_b(q)| dq, exactly, over both quantile functions' steps. */
export function wasserstein1(a: readonly number[], b: readonly number[]): number {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let at = 0;
  let total = 0;
  while (i < x.length && j < y.length) {
    // the next step of either quantile function: a's value i covers q in [i/n, (i+1)/n)
    const next = Math.min((i + 1) / x.length, (j + 1) / y.length);
    total += (next - at) * Math.abs((x[i] as number) - (y[j] as number));
    at = next;
    if (next >= (i + 1) / x.length) i++;
    if (next >= (j + 1) / y.length) j++;
  }
  return total;
}

function median(values: number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

function addRow(into: Float64Array, vectors: Float32Array, row: number, dim: number): void {
  for (let d = 0; d < dim; d++) into[d] = (into[d] as number) + (vectors[row * dim + d] as number);
}

function cosineToCentroid(vectors: Float32Array, row: number, dim: number, centroid: Float64Array, centroidNorm: number): number | undefined {
  const norm = Math.sqrt(rowDot(vectors, dim, vectors.subarray(row * dim, (row + 1) * dim), row));
  return norm === 0 ? undefined : rowDot(vectors, dim, centroid, row) / (norm * centroidNorm);
}
