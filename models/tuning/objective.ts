import { LABELS, type Label } from "../../core/data/labels";
import { auc, ndcgAtK, personalisation, recallAtK } from "../../core/eval/metrics";
import { SOURCE_NAMES, type ServingConfig } from "../../core/config/serving";
import { keptWithTail } from "../../core/funnel/stages/first-stage";
import { explorationTail } from "../../core/funnel/stages/prior";
import { rerankPage } from "../../core/funnel/stages/rerank";
import type { Candidate } from "../../core/funnel/types";
import { impressionValue, tailLogPrior } from "../../core/ranking/value-model";
import { topK, topKMask } from "../../core/util/top-k";
import type { Replay, ReplayUser } from "./replay";

/** Retrieval's measures on the held-out slice: what the source mix alone reaches. */
export interface RetrievalMeasures {
  /** Recall@1000 of held-out clicks by the merged candidates in their mixed order. */
  readonly recall1000: number;
  /** NDCG@10 of that order. */
  readonly ndcg10: number;
}

/** Popularity's measures on the replay's users: the reference every ratio is against. */
export interface PopularityMeasures extends RetrievalMeasures {
  /** Recall@100 of held-out clicks, as the feed's page is measured. */
  readonly recall100: number;
}

/** The feed's measures on the held-out slice, and the guard rails' inputs. */
export interface FeedMeasures extends RetrievalMeasures {
  /** NDCG@10 of the served feed (the objective). */
  readonly feedNdcg10: number;
  /** Recall@100 of the served page: what the exploration tail is judged on, beside coverage. */
  readonly feedRecall100: number;
  /** Distinct items in the replayed users' pages of `count`, over the catalogue. */
  readonly coverage: number;
  /**
   * Coverage extrapolated from the replayed users to the slice's population (`Replay.population`): coverage grows
   * with the number of users, and the evaluation counts every user with a positive, several times the replay's.
   */
  readonly coverageAtPopulation: number;
  /** 1 − mean pairwise Jaccard of warm users' top 10s. */
  readonly personalisation: number;
  /** Per label: GAUC of the value model's impression score (EV) minus GAUC of the prefix window's item rate. */
  readonly gaucOverItemRate: Readonly<Partial<Record<Label, number>>>;
}

/**
 * The labels whose impression GAUC is guarded, and the margin each must keep over the item rate on the held-out
 * slice: the quality bars (click +0.02, long view and like +0) plus 0.005, room for the days nobody tuned on.
 */
export const GAUC_GUARD_RAILS: Readonly<Partial<Record<Label, number>>> = { click: 0.025, long_view: 0.005, like: 0.005 };
/**
 * The feed's personalisation on the held-out slice, and its coverage@100 extrapolated to the slice's population: the
 * bars (0.85, 0.30) plus a margin, for the same reason.
 */
export const FEED_GUARD_RAILS = { personalisation: 0.88, coverage: 0.33 } as const;

/** Personalisation is measured over at most this many warm users (~5·10⁵ pairs). */
const PERSONALISATION_USERS = 1000;

/**
 * The merged retrieval score of every pool item under `config` (−Infinity: no source returned it within its quota,
 * or the merge's `maxCandidates` cut it): `mergeSourceResults` in typed arrays. Pool indices are in item-row order,
 * so topK's lower-index tie rule breaks ties by item row (the serving merge breaks them by arrival; ties are rare).
 */
export function retrievalScores(user: ReplayUser, config: ServingConfig): Float64Array {
  const scores = new Float64Array(user.items.length).fill(Number.NEGATIVE_INFINITY);
  let members = 0;
  SOURCE_NAMES.forEach((name, s) => {
    const { weight, quota } = config.retrieval.sources[name];
    if (!(weight > 0 && quota > 0)) return;
    const list = user.sourceLists[s] as Int32Array;
    const count = Math.min(list.length, quota);
    for (let rank = 0; rank < count; rank++) {
      const index = list[rank] as number;
      const normalised = weight * (1 - rank / quota);
      if (scores[index] === Number.NEGATIVE_INFINITY) {
        scores[index] = normalised;
        members++;
      } else {
        scores[index] = (scores[index] as number) + normalised;
      }
    }
  });
  const { exposureWeight, affinityWeight } = config.retrieval;
  const share = config.valueModel.exposurePriorShare;
  if (exposureWeight !== 0 || affinityWeight !== 0) {
    for (let i = 0; i < scores.length; i++) {
      if (scores[i] === Number.NEGATIVE_INFINITY) continue;
      scores[i] = (scores[i] as number) + exposureWeight * Math.log((user.relativeExposure[i] as number) + share) + affinityWeight * (user.affinity[i] as number);
    }
  }
  if (members > config.retrieval.maxCandidates) {
    const kept = topKMask(scores, config.retrieval.maxCandidates);
    for (let i = 0; i < scores.length; i++) if (!kept[i]) scores[i] = Number.NEGATIVE_INFINITY;
  }
  return scores;
}

/** Retrieval's measures under `config`: the merged candidates (before the filters, as the evaluation reads them). */
export function measureRetrieval(replay: Replay, config: ServingConfig): RetrievalMeasures {
  let recall = 0;
  let ndcg = 0;
  for (const user of replay.users) {
    const scores = retrievalScores(user, config);
    const best = topKMask(scores, 1000);
    let hits = 0;
    for (let i = 0; i < best.length; i++) if (best[i] && user.positives.has(user.items[i] as number)) hits++;
    recall += hits / user.positives.size;
    ndcg += ndcgAtK(Int32Array.from(topK(scores, 10), (index) => user.items[index] as number), user.positives, 10);
  }
  const n = Math.max(1, replay.users.length);
  return { recall1000: recall / n, ndcg10: ndcg / n };
}

/** The prior's source term Σ_s γ_s · (1 − rank/quota) of every pool item under `config` (`priorSourceScore`). */
export function priorSourceScores(user: ReplayUser, config: ServingConfig): Float64Array {
  const scores = new Float64Array(user.items.length);
  const { sourceWeights } = config.valueModel;
  SOURCE_NAMES.forEach((name, s) => {
    const weight = sourceWeights[name];
    const { quota } = config.retrieval.sources[name];
    if (weight === 0 || !(quota > 0) || !(config.retrieval.sources[name].weight > 0)) return;
    const list = user.sourceLists[s] as Int32Array;
    const count = Math.min(list.length, quota);
    for (let rank = 0; rank < count; rank++) {
      const index = list[rank] as number;
      scores[index] = (scores[index] as number) + weight * (1 - rank / quota);
    }
  });
  return scores;
}

/** The feed as the funnel serves it under `config`, for one user: item rows, best first. */
export function replayFeed(replay: Replay, user: ReplayUser, config: ServingConfig, retrieval: Float64Array = retrievalScores(user, config)): Int32Array {
  const model = config.valueModel;
  const sourceScores = priorSourceScores(user, config);
  const pool = new Int32Array(user.items.length);
  const priors = new Float64Array(user.items.length);
  const firstStage = new Float64Array(user.items.length);
  let size = 0;
  // exploreLogPrior, unrolled over the pool: a trial computes it for ~10⁶ candidates
  const { exposureExponent: alpha, exposurePriorShare: share, retrievalExponent: beta, retrievalOrderWeight: eta } = model;
  for (let i = 0; i < user.items.length; i++) {
    if (retrieval[i] === Number.NEGATIVE_INFINITY || !user.passesFilters[i]) continue;
    let prior = sourceScores[i] as number;
    if (eta !== 0) prior += eta * (retrieval[i] as number);
    if (alpha !== 0) prior += alpha * Math.log((user.relativeExposure[i] as number) + share);
    if (beta !== 0) prior += beta * (user.affinity[i] as number);
    pool[size] = i;
    priors[size] = prior;
    firstStage[size] = (user.firstStageEstimate[i] as number) + prior;
    size++;
  }
  const count = user.request.count;
  const tail = explorationTail(config, count);
  const tailPriors = tail ? Float64Array.from(priors.subarray(0, size), (prior, k) => tailLogPrior(model, prior, user.relativeExposure[pool[k] as number] as number, tail.exposureExponent)) : undefined;
  // the first stage's cut; its order does not matter, the rerank sorts by the value model's score
  const cut = tailPriors && tail
    ? keptWithTail(firstStage.subarray(0, size), config.firstStage.keep, Float64Array.from(tailPriors, (prior, k) => (user.firstStageEstimate[pool[k] as number] as number) + prior), count - tail.from)
    : topK(firstStage.subarray(0, size), config.firstStage.keep);
  const candidates: Candidate[] = [];
  for (const k of cut) {
    const index = pool[k] as number;
    const expected = impressionValue(model, user.probabilities, index);
    const value = expected * Math.exp(priors[k] as number);
    const tailValue = tailPriors ? expected * Math.exp(tailPriors[k] as number) : undefined;
    candidates.push({ item: user.items[index] as number, sources: [], retrievalScore: retrieval[index] as number, logPrior: priors[k], firstStageScore: firstStage[k], probabilities: undefined, value, tailValue, score: value });
  }
  const { page } = rerankPage(candidates, config.rerank, replay.items, count, { tailFrom: tail?.from });
  return Int32Array.from(page, (candidate) => candidate.item);
}

/** Each user's retrieval scores for one source mix, kept while a search varies only the ranking. */
export class RetrievalCache {
  private key = "";
  private readonly scores = new Map<ReplayUser, Float64Array>();

  for(user: ReplayUser, config: ServingConfig): Float64Array {
    const { sources, maxCandidates, exposureWeight, affinityWeight } = config.retrieval;
    const key = JSON.stringify([sources, maxCandidates, exposureWeight, affinityWeight, exposureWeight !== 0 ? config.valueModel.exposurePriorShare : 0]);
    if (key !== this.key) {
      this.scores.clear();
      this.key = key;
    }
    let scores = this.scores.get(user);
    if (!scores) this.scores.set(user, (scores = retrievalScores(user, config)));
    return scores;
  }
}

/** Everything a ranking trial is judged on. */
export function measureFeed(replay: Replay, config: ServingConfig, retrieval: RetrievalMeasures = measureRetrieval(replay, config), cache = new RetrievalCache()): FeedMeasures {
  let ndcg = 0;
  let recall100 = 0;
  const covered = new Uint8Array(replay.catalogueSize);
  let coveredCount = 0;
  const warmTops: Int32Array[] = [];
  // coverage after a quarter, a half and all of the users, for the extrapolation
  const n = replay.users.length;
  const checkpoints = [Math.ceil(n / 4), Math.ceil(n / 2), n];
  const growth: [number, number][] = [];
  replay.users.forEach((user, u) => {
    const feed = replayFeed(replay, user, config, cache.for(user, config));
    ndcg += ndcgAtK(feed, user.positives, 10);
    recall100 += recallAtK(feed, user.positives, 100);
    for (const item of feed) {
      if (!covered[item]) coveredCount++;
      covered[item] = 1;
    }
    if (user.warm && warmTops.length < PERSONALISATION_USERS) warmTops.push(feed.subarray(0, 10));
    if (checkpoints.includes(u + 1) && coveredCount > 0) growth.push([u + 1, coveredCount]);
  });
  const coverage = coveredCount / Math.max(1, replay.catalogueSize);
  return {
    ...retrieval,
    feedNdcg10: ndcg / Math.max(1, n),
    feedRecall100: recall100 / Math.max(1, n),
    coverage,
    coverageAtPopulation: Math.min(1, extrapolateCount(growth, Math.max(n, replay.population)) / Math.max(1, replay.catalogueSize)),
    personalisation: warmTops.length >= 2 ? personalisation(warmTops) : 1,
    gaucOverItemRate: impressionGaucOverItemRate(replay, config),
  };
}

/**
 * Distinct items at `population` users from the counts at a few user counts: a power law in the number of users,
 * fitted in log–log, never above the growth seen so far (the slope is clamped to [0, 1]).
 */
export function extrapolateCount(growth: readonly (readonly [number, number])[], population: number): number {
  const last = growth[growth.length - 1];
  if (!last) return 0;
  if (growth.length < 2 || population <= last[0]) return last[1];
  const xs = growth.map(([users]) => Math.log(users));
  const ys = growth.map(([, count]) => Math.log(count));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * ((ys[i] as number) - my);
    den += (x - mx) ** 2;
  });
  const slope = den > 0 ? Math.min(1, Math.max(0, num / den)) : 0;
  return last[1] * Math.pow(population / last[0], slope);
}

/** The held-out impressions grouped by user, and the item rate's GAUC per guarded label: the same for every trial. */
interface ImpressionGroups {
  readonly groups: readonly Int32Array[];
  readonly itemRateGauc: Partial<Record<Label, number>>;
}
const groupsOf = new WeakMap<Replay, ImpressionGroups>();

function impressionGroups(replay: Replay): ImpressionGroups {
  const cached = groupsOf.get(replay);
  if (cached) return cached;
  const { impressions } = replay;
  const byUser = new Map<number, number[]>();
  for (let i = 0; i < impressions.size; i++) {
    const user = impressions.user[i] as number;
    let rows = byUser.get(user);
    if (!rows) byUser.set(user, (rows = []));
    rows.push(i);
  }
  const groups = [...byUser.values()].filter((rows) => rows.length > 1).map((rows) => Int32Array.from(rows));
  const itemRateGauc: Partial<Record<Label, number>> = {};
  for (const label of Object.keys(GAUC_GUARD_RAILS) as Label[]) {
    const l = LABELS.indexOf(label);
    const value = groupedGauc(groups, (i) => impressions.itemRates[i * LABELS.length + l] as number, (i) => impressions.labels[i * LABELS.length + l] as number);
    if (value !== null) itemRateGauc[label] = value;
  }
  const result = { groups, itemRateGauc };
  groupsOf.set(replay, result);
  return result;
}

/** Per guarded label: GAUC of EV on the held-out impressions minus the item rate's. */
export function impressionGaucOverItemRate(replay: Replay, config: ServingConfig): Partial<Record<Label, number>> {
  const { impressions } = replay;
  const { groups, itemRateGauc } = impressionGroups(replay);
  const values = new Float64Array(impressions.size);
  for (let i = 0; i < impressions.size; i++) values[i] = impressionValue(config.valueModel, impressions.probabilities, i);
  const out: Partial<Record<Label, number>> = {};
  for (const label of Object.keys(GAUC_GUARD_RAILS) as Label[]) {
    const l = LABELS.indexOf(label);
    const score = groupedGauc(groups, (i) => values[i] as number, (i) => impressions.labels[i * LABELS.length + l] as number);
    const baseline = itemRateGauc[label];
    if (score !== null && baseline !== undefined) out[label] = score - baseline;
  }
  return out;
}

/** The evaluation's GAUC (per-user AUC weighted by impressions, users with both classes) over precomputed groups. */
function groupedGauc(groups: readonly Int32Array[], score: (row: number) => number, label: (row: number) => number): number | null {
  let weighted = 0;
  let weight = 0;
  for (const rows of groups) {
    const value = auc(Array.from(rows, score), Array.from(rows, label));
    if (value === null) continue;
    weighted += value * rows.length;
    weight += rows.length;
  }
  return weight === 0 ? null : weighted / weight;
}

/** How far the value model misses its GAUC rails: the sum of the labels' shortfalls (0 = every rail holds). */
export function gaucRailDeficit(measures: Pick<FeedMeasures, "gaucOverItemRate">): number {
  let deficit = 0;
  for (const [label, margin] of Object.entries(GAUC_GUARD_RAILS) as [Label, number][]) {
    const over = measures.gaucOverItemRate[label];
    if (over !== undefined) deficit += Math.max(0, margin - over);
  }
  return deficit;
}

/**
 * How far the feed misses its personalisation and coverage rails, as the share of each bar it misses. Coverage is
 * judged extrapolated to the slice's population: it counts distinct items over all users, so the replay's sample
 * alone would hold the feed to a stricter bar than the evaluation's many more users do.
 */
export function feedRailDeficit(measures: Pick<FeedMeasures, "personalisation" | "coverageAtPopulation">): number {
  return Math.max(0, FEED_GUARD_RAILS.personalisation - measures.personalisation) / FEED_GUARD_RAILS.personalisation + Math.max(0, FEED_GUARD_RAILS.coverage - measures.coverageAtPopulation) / FEED_GUARD_RAILS.coverage;
}

/** Every rail's shortfall together (0 = every rail holds). */
export function guardRailDeficit(measures: FeedMeasures): number {
  return gaucRailDeficit(measures) + feedRailDeficit(measures);
}
