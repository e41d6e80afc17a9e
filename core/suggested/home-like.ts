import type { SuggestedConfig } from "../config/suggested";
import { isKnown, type EventTable } from "../data/dataset";
import { LABELS, type Label } from "../data/labels";
import { ENGAGED_BITS, LABEL_BIT } from "../features/engagement";
import type { ScoredId } from "../query";
import { lowerBound, quantile } from "../util/sorted";
import { rowDot } from "../util/typed-arrays";
import type { SeededItem } from "./diversify";

/**
 * Making Suggested Posts feel like Home (shared/seeds/004): the page follows Home's freshness, keeps the user's
 * Home media-type mix, and may prefer authors close to the user's Home authors. Runtime-agnostic: serving
 * (`suggestPosts`), the tuner's replay and the pipeline (which learns the freshness table) share these functions.
 */

export type HomeSettings = SuggestedConfig["home"];
export type HomeFreshness = HomeSettings["freshness"];

const HOUR_MS = 3_600_000;

/** ln(1 + age in hours): the scale Home's freshness is learned on (ages span minutes to months). An item dated after `atMs` counts as new. */
export function lnAgeHours(createdAtMs: number, atMs: number): number {
  return Math.log1p(Math.max(0, atMs - createdAtMs) / HOUR_MS);
}

/**
 * log p_Home(age) from the learned table, linear between its grid points and the end values beyond them; 0 (Home's
 * median age) for an item of unknown age or without a table, so neither is favoured nor held back.
 */
export function freshnessLogDensity(table: HomeFreshness, createdAtMs: number, nowMs: number): number {
  if (table.lnAgeHours.length === 0 || !isKnown(createdAtMs)) return 0;
  return logDensityAt(table, lnAgeHours(createdAtMs, nowMs));
}

/** The table at x = ln(1 + age in hours): linear between grid points, the end values beyond them. */
function logDensityAt(table: HomeFreshness, x: number): number {
  const { lnAgeHours: grid, logDensity } = table;
  if (x <= (grid[0] as number)) return logDensity[0] as number;
  const last = grid.length - 1;
  if (x >= (grid[last] as number)) return logDensity[last] as number;
  let low = 0;
  let high = last;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if ((grid[middle] as number) <= x) low = middle;
    else high = middle;
  }
  const x0 = grid[low] as number;
  const x1 = grid[high] as number;
  const t = (x - x0) / (x1 - x0);
  return (logDensity[low] as number) * (1 - t) + (logDensity[high] as number) * t;
}

/** Grid points of a learned table: enough for a smooth curve, small enough to ship in the serving config. */
export const HOME_FRESHNESS_POINTS = 64;
/** A floor on the density relative to its peak, so that an age Home never saw is held back, not excluded. */
const DENSITY_FLOOR = 1e-6;

/**
 * Home's freshness rule, learned: a Gaussian kernel density of ln(1 + age in hours) over the ages at which Home
 * engagements happened (`lnAges`), with Silverman's bandwidth, on a grid spanning the data ± 3 bandwidths, as a log
 * density shifted to 0 at the median age. An empty table when there are too few engagements to say anything.
 */
export function learnHomeFreshness(lnAges: readonly number[], points = HOME_FRESHNESS_POINTS): HomeFreshness {
  const values = lnAges.filter(Number.isFinite).sort((a, b) => a - b);
  const n = values.length;
  if (n < 10) return { lnAgeHours: [], logDensity: [] };
  const mean = values.reduce((sum, x) => sum + x, 0) / n;
  const sd = Math.sqrt(values.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (n - 1));
  const iqr = quantile(values, 0.75) - quantile(values, 0.25);
  const spread = Math.min(sd, iqr / 1.34) || sd || 1e-3;
  const bandwidth = Math.max(1e-3, 0.9 * spread * n ** -0.2);
  const from = Math.max(0, (values[0] as number) - 3 * bandwidth);
  const to = (values[n - 1] as number) + 3 * bandwidth;
  const grid = Array.from({ length: points }, (_, i) => from + ((to - from) * i) / (points - 1));
  const density = grid.map((x) => {
    let sum = 0;
    // the sorted values let the sum skip kernels beyond 6 bandwidths, where they are below 1e-8 of the peak
    for (let i = lowerBound(values, x - 6 * bandwidth); i < n && (values[i] as number) <= x + 6 * bandwidth; i++) {
      const z = (x - (values[i] as number)) / bandwidth;
      sum += Math.exp(-0.5 * z * z);
    }
    return sum;
  });
  const peak = Math.max(...density);
  const median = quantile(values, 0.5);
  const logDensity = density.map((d) => Math.log(Math.max(d, peak * DENSITY_FLOOR)));
  const table = { lnAgeHours: grid, logDensity };
  const atMedian = logDensityAt(table, median);
  return { lnAgeHours: grid.map(round6), logDensity: logDensity.map((value) => round6(value - atMedian)) };
}

/** The labels that make an impression an engagement, as the engagement log counts them. */
const ENGAGEMENT_LABELS: readonly Label[] = LABELS.filter((label) => (ENGAGED_BITS & LABEL_BIT[label]) !== 0);

/** ln(1 + age in hours) of every engagement on a Home surface in `events`, for items of known age: what Home's freshness is learned from. */
export function homeEngagementAges(events: EventTable, createdAt: Float64Array, homeSurfaces: readonly number[]): number[] {
  const home = new Set(homeSurfaces);
  const labels = ENGAGEMENT_LABELS.map((label) => events.labels[label]).filter((column): column is Uint8Array => column !== undefined);
  const ages: number[] = [];
  for (let i = 0; i < events.size; i++) {
    if (!home.has(events.surface[i] as number) || !labels.some((column) => column[i] === 1)) continue;
    const created = createdAt[events.item[i] as number] as number;
    if (isKnown(created)) ages.push(lnAgeHours(created, events.ts[i] as number));
  }
  return ages;
}

/** `config` with Home's freshness learned from `events` (its weight untouched). */
export function withHomeFreshness<C extends { readonly suggested: SuggestedConfig }>(config: C, events: EventTable, createdAt: Float64Array): C {
  const freshness = learnHomeFreshness(homeEngagementAges(events, createdAt, config.suggested.homeSurfaces));
  return { ...config, suggested: { ...config.suggested, home: { ...config.suggested.home, freshness } } };
}

/** The user's Home as Suggested Posts compares with it: the media-type mix of their Home engagements, their Home authors' centroid. */
export interface HomeProfile {
  /** Share of each media type (catalogue type row) among the user's Home engagements; empty without any. */
  readonly typeMix: ReadonlyMap<number, number>;
  /** Unit vector of the engagement-weighted mean of the Home authors' account embeddings; undefined without them. */
  readonly authorDirection: Float64Array | undefined;
}

export interface AccountVectors {
  readonly vectors: Float32Array;
  readonly dim: number;
}

/** The profile from the user's Home engagements (`engagedMedia`: items with their engagement counts, as the engagement log gives them). */
export function homeProfile(engagedMedia: readonly ScoredId[], typeOf: ArrayLike<number>, authorOf: ArrayLike<number>, accounts: AccountVectors | undefined): HomeProfile {
  const typeMix = new Map<number, number>();
  let total = 0;
  for (const { id, score } of engagedMedia) {
    const type = typeOf[id] as number;
    typeMix.set(type, (typeMix.get(type) ?? 0) + score);
    total += score;
  }
  for (const [type, count] of typeMix) typeMix.set(type, count / total);
  let authorDirection: Float64Array | undefined;
  if (accounts && engagedMedia.length > 0) {
    const centroid = new Float64Array(accounts.dim);
    for (const { id, score } of engagedMedia) {
      const row = (authorOf[id] as number) * accounts.dim;
      for (let d = 0; d < accounts.dim; d++) centroid[d] = (centroid[d] as number) + score * (accounts.vectors[row + d] as number);
    }
    const norm = Math.hypot(...centroid);
    if (norm > 0) authorDirection = centroid.map((value) => value / norm);
  }
  return { typeMix, authorDirection };
}

/** Cosine between an author's account embedding and the profile's Home direction; 0 when either is missing. */
export function authorSimilarity(profile: HomeProfile, accounts: AccountVectors | undefined, author: number): number {
  if (!accounts || !profile.authorDirection) return 0;
  const norm = Math.sqrt(rowDot(accounts.vectors, accounts.dim, accounts.vectors.subarray(author * accounts.dim, (author + 1) * accounts.dim), author));
  return norm === 0 ? 0 : rowDot(accounts.vectors, accounts.dim, profile.authorDirection, author) / norm;
}

/** What the Home terms add to a candidate's log-scale score: λ · log p_Home(age) + γ · author similarity. */
export function homeScoreTerm(settings: HomeSettings, logFreshness: number, similarity: number): number {
  return settings.freshnessWeight * logFreshness + settings.authorSimilarityWeight * similarity;
}

/**
 * The media-type rule of a page of `count`: a type may take at most ceil((its Home share + maxTypeExcess) · count)
 * places, so the page's mix stays near the user's Home mix. Undefined (no rule) when it is off or the user has no
 * Home engagements to compare with.
 */
export function typeMixRule(profile: HomeProfile, typeOf: ArrayLike<number>, maxTypeExcess: number, count: number): ((entry: SeededItem, page: readonly SeededItem[]) => boolean) | undefined {
  if (maxTypeExcess >= 1 || profile.typeMix.size === 0) return undefined;
  const quota = (type: number) => Math.ceil(((profile.typeMix.get(type) ?? 0) + maxTypeExcess) * count - 1e-9);
  return (entry, page) => {
    const type = typeOf[entry.item] as number;
    let onPage = 0;
    for (const placed of page) if ((typeOf[placed.item] as number) === type) onPage++;
    return onPage < quota(type);
  };
}

const round6 = (value: number) => Math.round(value * 1e6) / 1e6;
