import type { EventTable, TrainingData } from "../data/dataset";
import type { Label } from "../data/labels";
import { createRandom } from "../util/random";
import { auc, gauc, hitAtK, meanReplayNdcg, ndcgAtK, personalisation, recallAtK } from "./metrics";
import type { PairBatch, PairScorer, Recommender } from "./types";
import { reliability, type Reliability } from "./calibration";

export const CATALOGUE_LABELS = ["click", "long_view", "like"] as const satisfies readonly Label[];
export const RECALL_CUTOFFS = [10, 50, 100, 1000] as const;
export const MAX_LIST = 1000;

export interface RetrievalMetrics {
  "recall@10": number;
  "recall@50": number;
  "recall@100": number;
  "recall@1000": number;
  "ndcg@10": number;
  "hit@10": number;
  users: number;
}

export type FullCatalogueResult = Partial<Record<(typeof CATALOGUE_LABELS)[number], RetrievalMetrics>> & {
  /** Distinct items in anyone's top 100, as a fraction of the catalogue. */
  coverage: number;
  /** Mean number of distinct authors in a top 10. */
  "authors@10": number;
  /**
   * 1 − the mean pairwise Jaccard overlap of the top 10s of a seeded sample of warm test users (at most
   * PERSONALISATION_USERS; warm = engaged with something in the training window): 0 when everyone gets one list.
   */
  "personalisation@10": number;
  /** Users evaluated: those with at least one positive for any of the labels. */
  users: number;
};

/** Each user's distinct positive items in the test window, per label. */
export function testPositives(test: EventTable, labels: readonly Label[]): Map<Label, Map<number, Set<number>>> {
  const result = new Map<Label, Map<number, Set<number>>>();
  for (const label of labels) {
    const column = test.labels[label];
    if (!column) continue;
    const byUser = new Map<number, Set<number>>();
    for (let i = 0; i < test.size; i++) {
      if (!column[i]) continue;
      const user = test.user[i] as number;
      let items = byUser.get(user);
      if (!items) byUser.set(user, (items = new Set()));
      items.add(test.item[i] as number);
    }
    result.set(label, byUser);
  }
  return result;
}

/**
 * Full-catalogue protocol: every user with a positive in the test window asks the recommender for its
 * top list (from the state at the end of training) and we measure how many of their positives it reaches.
 */
export async function evaluateFullCatalogue(recommender: Recommender, train: TrainingData, positives: Map<Label, Map<number, Set<number>>>, personalisationUsers: readonly number[] = warmSample(train, positives)): Promise<FullCatalogueResult> {
  const users = new Set<number>();
  for (const byUser of positives.values()) for (const user of byUser.keys()) users.add(user);
  const lists = new Map<number, Int32Array>();
  for (const user of [...users].sort((a, b) => a - b)) {
    const ranked = await recommender.recommend({ user, atMs: train.endMs, count: MAX_LIST });
    if (ranked.items.length > MAX_LIST) throw new Error(`${recommender.name} returned ${ranked.items.length} items, more than ${MAX_LIST}`);
    lists.set(user, ranked.items);
  }

  const result: Partial<Record<Label, RetrievalMetrics>> = {};
  for (const label of CATALOGUE_LABELS) {
    const byUser = positives.get(label);
    if (!byUser || byUser.size === 0) continue;
    const sums = { "recall@10": 0, "recall@50": 0, "recall@100": 0, "recall@1000": 0, "ndcg@10": 0, "hit@10": 0 };
    for (const [user, relevant] of byUser) {
      const list = lists.get(user) as Int32Array;
      for (const k of RECALL_CUTOFFS) sums[`recall@${k}`] += recallAtK(list, relevant, k);
      sums["ndcg@10"] += ndcgAtK(list, relevant, 10);
      sums["hit@10"] += hitAtK(list, relevant, 10);
    }
    const n = byUser.size;
    result[label] = {
      "recall@10": sums["recall@10"] / n,
      "recall@50": sums["recall@50"] / n,
      "recall@100": sums["recall@100"] / n,
      "recall@1000": sums["recall@1000"] / n,
      "ndcg@10": sums["ndcg@10"] / n,
      "hit@10": sums["hit@10"] / n,
      users: n,
    };
  }

  const covered = new Set<number>();
  let authorSum = 0;
  for (const list of lists.values()) {
    for (let i = 0; i < Math.min(100, list.length); i++) covered.add(list[i] as number);
    const authors = new Set<number>();
    for (let i = 0; i < Math.min(10, list.length); i++) authors.add(train.items.author[list[i] as number] as number);
    authorSum += authors.size;
  }
  const tops = personalisationUsers.map((user) => lists.get(user)).filter((list): list is Int32Array => list !== undefined).map((list) => list.subarray(0, 10));
  return {
    ...result,
    coverage: covered.size / train.items.ids.size,
    "authors@10": lists.size === 0 ? 0 : authorSum / lists.size,
    "personalisation@10": tops.length >= 2 ? personalisation(tops) : Number.NaN,
    users: lists.size,
  };
}

/** Users whose personalisation the full-catalogue protocol measures. */
export const PERSONALISATION_USERS = 1000;

/**
 * A seeded sample of at most PERSONALISATION_USERS test users (with a positive) who engaged with something in the
 * training window: the users a feed can be personal for.
 */
export function warmSample(train: TrainingData, positives: Map<Label, Map<number, Set<number>>>, seed = 1): number[] {
  const engaged = new Set<number>();
  for (const label of ENGAGEMENT_LABELS) {
    const column = train.events.labels[label];
    if (!column) continue;
    for (let i = 0; i < train.events.size; i++) if (column[i]) engaged.add(train.events.user[i] as number);
  }
  const testUsers = new Set<number>();
  for (const byUser of positives.values()) for (const user of byUser.keys()) testUsers.add(user);
  const warm = [...testUsers].filter((user) => engaged.has(user)).sort((a, b) => a - b);
  const next = createRandom(seed);
  for (let i = warm.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [warm[i], warm[j]] = [warm[j] as number, warm[i] as number];
  }
  return warm.slice(0, PERSONALISATION_USERS);
}

/** The labels that make a user warm (engaged): every positive label but hate. */
const ENGAGEMENT_LABELS: readonly Label[] = ["click", "long_view", "like", "comment", "forward", "follow"];

export interface ImpressionMetrics {
  auc: number | null;
  gauc: number | null;
  "replay_ndcg@10": number | null;
  /** For scorers of probabilities: expected calibration error and the reliability table by decile. */
  calibration?: Reliability | null;
}

export type ImpressionResult = Partial<Record<Label, ImpressionMetrics>>;

/** Pairs are scored in batches of this many impressions, in time order. */
const SCORING_BATCH = 2048;

/**
 * Impression protocol: score every test impression (from the state at the end of training) and measure,
 * per label, AUC over all impressions, per-user GAUC, and replay NDCG@10 of each user's impressions; for a scorer of
 * probabilities, also their calibration (ECE and deciles).
 */
export async function evaluateImpressions(scorer: PairScorer, test: EventTable, labels: readonly Label[]): Promise<ImpressionResult> {
  const scores = new Map<Label, Float32Array>();
  for (let start = 0; start < test.size; start += SCORING_BATCH) {
    const end = Math.min(test.size, start + SCORING_BATCH);
    const batch: PairBatch = {
      size: end - start,
      user: test.user.subarray(start, end),
      item: test.item.subarray(start, end),
      surface: test.surface.subarray(start, end),
      atMs: test.ts.subarray(start, end),
    };
    const batchScores = await scorer.score(batch);
    for (const label of labels) {
      const column = batchScores[label];
      if (!column) continue;
      if (column.length !== batch.size) throw new Error(`${scorer.name} returned ${column.length} ${label} scores for ${batch.size} pairs`);
      let all = scores.get(label);
      if (!all) scores.set(label, (all = new Float32Array(test.size)));
      all.set(column, start);
    }
  }
  const result: ImpressionResult = {};
  for (const label of labels) {
    const labelColumn = test.labels[label];
    const labelScores = scores.get(label);
    if (!labelColumn || !labelScores) continue;
    result[label] = {
      auc: auc(labelScores, labelColumn),
      gauc: gauc(test.user, labelScores, labelColumn),
      "replay_ndcg@10": meanReplayNdcg(test.user, labelScores, labelColumn, 10),
      ...(scorer.probabilities ? { calibration: reliability(labelScores, labelColumn) } : {}),
    };
  }
  return result;
}
