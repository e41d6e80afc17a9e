import { LABELS, type Label } from "../../data/labels";
import { SOURCE_NAMES, type ServingConfig, type SourceName } from "../../config/serving";
import { EXPLORE_STAGES, runFeed } from "../../funnel/explore";
import { filterStage } from "../../funnel/stages/filters";
import { rerankStage } from "../../funnel/stages/rerank";
import { byRetrievalScore, retrievalStage } from "../../funnel/stages/retrieval";
import { firstStage } from "../../funnel/stages/first-stage";
import { secondStage } from "../../funnel/stages/second-stage";
import { topKOverlap } from "../../ranking/fidelity";
import { priorNeedsAffinity } from "../../ranking/value-model";
import { NO_REALTIME_STATE, type Candidate, type FeedRequest } from "../../funnel/types";
import type { ServingBundle } from "../../serving/serving-bundle";
import { resolveFeedUser } from "../../funnel/user";
import { embedUser } from "../../serving/bundle-models";
import { createRandom } from "../../util/random";
import type { LabelScores, PairBatch, PairScorer, RankedItems, Recommender } from "../types";
import type { BundleRows } from "./bundle-systems";
import { logPriors, mtmlProbabilities, valueScores } from "../../funnel/scoring";
import type { MtmlCalibration } from "../../ranking/calibration";
import type { Stage } from "../../funnel/feed-state";

const RETRIEVAL_LIST = 1000;

interface FeedMemo {
  readonly retrieval: Int32Array;
  readonly retrievalScores: Float32Array;
  readonly sources: Partial<Record<SourceName, Int32Array>>;
  readonly feed: Int32Array;
  readonly feedScores: Float32Array;
}

/**
 * The Explore funnel, run offline exactly as the Worker runs it (same stages, same bundle, onnxruntime-web),
 * from the state at the end of training, exposed to the harness as recommenders and a pair scorer.
 * Each user's feed is computed once and shared by the recommenders that read different parts of it.
 */
export class ExploreSystems {
  private readonly memo = new Map<number, FeedMemo>();

  /** `feedbackCalibration`: maps every feed request ranks with (calibration from feedback with `feedbackInRanking`); none by default. */
  constructor(private readonly rows: BundleRows, private readonly bundle: ServingBundle, private readonly config: ServingConfig, private readonly feedbackCalibration?: MtmlCalibration) {}

  request(user: number, count = 100): FeedRequest {
    const { tables } = this.bundle;
    const bundleRow = this.rows.userToBundle[user] as number;
    const id = bundleRow >= 0 ? tables.users.ids.id(bundleRow) : `unknown-user-${user}`;
    return {
      user: resolveFeedUser(tables, id, NO_REALTIME_STATE, this.config),
      count,
      surface: this.config.defaultSurface,
      nowMs: tables.asOfMs,
      exclude: new Set(),
      config: this.config,
      ...(this.feedbackCalibration ? { feedbackCalibration: this.feedbackCalibration } : {}),
    };
  }

  private async feed(user: number): Promise<FeedMemo> {
    const cached = this.memo.get(user);
    if (cached) return cached;
    const request = this.request(user);
    const stages = EXPLORE_STAGES;
    let retrieved: Candidate[] = [];
    const recording: Stage[] = stages.map((stage) => stage.name !== "retrieval" ? stage : {
      name: stage.name,
      run: async (state, candidates) => (retrieved = await stage.run(state, candidates)),
    });
    const result = await runFeed(this.bundle, request, recording);
    const sources: Partial<Record<SourceName, Int32Array>> = {};
    for (const name of SOURCE_NAMES) {
      const hits = retrieved.flatMap((candidate) => candidate.sources.filter((hit) => hit.source === name).map((hit) => ({ item: candidate.item, rank: hit.rank })));
      sources[name] = Int32Array.from(hits.sort((a, b) => a.rank - b.rank).map((hit) => hit.item));
    }
    const top = byRetrievalScore(retrieved).slice(0, RETRIEVAL_LIST);
    const memo: FeedMemo = {
      retrieval: Int32Array.from(top, (candidate) => candidate.item),
      retrievalScores: Float32Array.from(top, (candidate) => candidate.retrievalScore),
      sources,
      feed: Int32Array.from(result.candidates, (candidate) => candidate.item),
      feedScores: Float32Array.from(result.candidates, (candidate) => candidate.score),
    };
    this.memo.set(user, memo);
    return memo;
  }

  /** explore_retrieval: the merged candidates in the order of their mixed source scores. */
  retrieval(): Recommender {
    return { name: "explore_retrieval", recommend: async ({ user, count }) => this.rows.toDataset((await this.feed(user)).retrieval.subarray(0, count), (await this.feed(user)).retrievalScores) };
  }

  /** explore_source_<name>: one source on its own, in its own order. */
  source(name: SourceName): Recommender {
    return {
      name: `explore_source_${name}`,
      recommend: async ({ user, count }) => {
        const items = ((await this.feed(user)).sources[name] ?? new Int32Array()).subarray(0, count);
        return this.rows.toDataset(items, Float32Array.from(items, (_, i) => -i));
      },
    };
  }

  /** explore: the final feed. */
  explore(): Recommender {
    return { name: "explore", recommend: async ({ user }): Promise<RankedItems> => { const memo = await this.feed(user); return this.rows.toDataset(memo.feed, memo.feedScores); } };
  }

  /**
   * explore_score: the value model's score of each (user, item) impression, for every label. An impression that
   * happened has spent the prior (the item was shown), so its value is EV = Σ w·P alone.
   */
  score(): PairScorer {
    return this.impressionScorer("explore_score", false);
  }

  /**
   * explore_feed_score: the whole-catalogue score as the feed would rank the impression's item (EV times the prior
   * from exposure and affinity; no retrieval score, since the item need not be a candidate), for comparison.
   */
  feedScore(): PairScorer {
    return this.impressionScorer("explore_feed_score", true);
  }

  private impressionScorer(name: string, withPrior: boolean): PairScorer {
    const users = new Map<number, ReturnType<typeof resolveFeedUser>>();
    return {
      name,
      score: async (batch: PairBatch): Promise<LabelScores> => {
        const mtml = this.bundle.models.mtml;
        if (!mtml) throw new Error(`${name} needs the MTML model`);
        const values = new Float32Array(batch.size);
        const byUser = new Map<number, number[]>();
        for (let i = 0; i < batch.size; i++) {
          if ((this.rows.itemToBundle[batch.item[i] as number] as number) < 0) continue;
          const list = byUser.get(batch.user[i] as number) ?? [];
          list.push(i);
          byUser.set(batch.user[i] as number, list);
        }
        const { valueModel } = this.config;
        for (const [user, positions] of byUser) {
          let feedUser = users.get(user);
          if (!feedUser) users.set(user, (feedUser = this.request(user).user));
          // impressions keep their own surface; the value model is the Explore one
          const items = positions.map((position) => this.rows.itemToBundle[batch.item[position] as number] as number);
          const surfaces = positions.map((position) => batch.surface[position] as number);
          const probabilities = await mtmlProbabilities(this.bundle.tables, { mtml, mtmlOneUser: this.bundle.models.mtmlOneUser }, feedUser.context, items, surfaces, this.bundle.tables.asOfMs);
          let priors: ArrayLike<number> = new Float64Array(items.length);
          if (withPrior) {
            const embedding = priorNeedsAffinity(valueModel) && this.bundle.models.retrievalUserTower ? await embedUser(this.bundle.models.retrievalUserTower, this.bundle.tables, feedUser.context) : undefined;
            priors = logPriors(this.bundle.tables, valueModel, items, new Float64Array(items.length), embedding);
          }
          const scores = valueScores(valueModel, probabilities, priors);
          positions.forEach((position, r) => (values[position] = scores[r] as number));
        }
        return Object.fromEntries(LABELS.map((label): [Label, Float32Array] => [label, values]));
      },
    };
  }

  /**
   * first_stage_fidelity: within each sampled user's retrieved candidates (after the filters), the share of the
   * second stage's top `keep` (EV times the prior) that the first stage also puts in its top `keep`.
   */
  async firstStageFidelity(users: readonly number[], sample: number, seed = 1): Promise<{ fidelity: number; users: number; meanPool: number }> {
    const { models, tables } = this.bundle;
    if (!models.mtml || !models.firstStageUserTower) throw new Error("first_stage_fidelity needs the MTML and the first-stage model");
    const chosen = seededSample(users, sample, seed);
    const keep = this.config.firstStage.keep;
    let sum = 0;
    let pools = 0;
    for (const user of chosen) {
      const request = this.request(user);
      let pool: Candidate[] = [];
      // the first stage sets every pool candidate's log prior and score before it cuts: capture the pool it sees
      const capture: Stage = { name: "capture", run: (_state, candidates) => (pool = candidates) };
      await runFeed(this.bundle, request, [retrievalStage, filterStage, capture, firstStage]);
      pools += pool.length;
      const all = pool;
      const probabilities = await mtmlProbabilities(tables, { mtml: models.mtml, mtmlOneUser: models.mtmlOneUser }, request.user.context, all.map((c) => c.item), request.surface, request.nowMs);
      const secondStageScores = valueScores(this.config.valueModel, probabilities, all.map((c) => c.logPrior ?? 0));
      const firstStageScoresOfPool = Float64Array.from(all, (c) => c.firstStageScore ?? -Infinity);
      sum += topKOverlap(secondStageScores, firstStageScoresOfPool, keep);
    }
    return { fidelity: chosen.length === 0 ? 0 : sum / chosen.length, users: chosen.length, meanPool: chosen.length === 0 ? 0 : pools / chosen.length };
  }

  /**
   * funnel_fidelity: mean overlap of the final top 10 with and without the first-stage cut (the second stage
   * then scores every retrieved candidate), over a seeded sample of users.
   */
  async funnelFidelity(users: readonly number[], sample: number, seed = 1): Promise<{ fidelity: number; users: number }> {
    const chosen = seededSample(users, sample, seed);
    const exhaustive: Stage[] = [retrievalStage, filterStage, secondStage, rerankStage];
    let sum = 0;
    for (const user of chosen) {
      const withCut = (await runFeed(this.bundle, this.request(user, 10))).candidates.map((candidate) => candidate.item);
      const without = (await runFeed(this.bundle, this.request(user, 10), exhaustive)).candidates.map((candidate) => candidate.item);
      const reference = new Set(without);
      sum += without.length === 0 ? 1 : withCut.filter((item) => reference.has(item)).length / without.length;
    }
    return { fidelity: chosen.length === 0 ? 0 : sum / chosen.length, users: chosen.length };
  }
}

/** A seeded sample of `count` of `values` (Fisher–Yates on a copy). */
export function seededSample(values: readonly number[], count: number, seed: number): number[] {
  const next = createRandom(seed);
  const pool = [...values];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  return pool.slice(0, count);
}
