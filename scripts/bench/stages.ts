// Per-stage latency of the Explore funnel in-process, on the code the Worker runs (core/funnel with onnxruntime-web
// wasm and USearch wasm), over real users of the bundle. Stage totals come from runFeed's own timings; the parts
// inside stages (user towers, each source, the ANN search, MTML feature writing, the MTML run, the value model) are
// timed by calling the same functions the stages call, on the same user and the same candidates.
import { LABELS } from "../../core/data/labels";
import type { ServingConfig } from "../../core/config/serving";
import { EXPLORE_STAGES, createFeedState, runFeed } from "../../core/funnel/explore";
import { activeSources, runSource } from "../../core/funnel/stages/retrieval";
import { searchTwoTower } from "../../core/ann/two-tower-search";
import { NO_REALTIME_STATE, type FeedRequest } from "../../core/funnel/types";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import { firstStageScores } from "../../core/funnel/stages/first-stage";
import { priorNeedsAffinity } from "../../core/ranking/value-model";
import { resolveFeedUser } from "../../core/funnel/user";
import { runMtmlForOneUser } from "../../core/serving/model-runs";
import { embedUser } from "../../core/serving/bundle-models";
import { topK } from "../../core/util/top-k";
import { Samples, type Percentiles } from "./measure";
import { logPriors, mtmlInputsFor, valueScores } from "../../core/funnel/scoring";
import type { FeedState, Stage } from "../../core/funnel/feed-state";

export interface StageBenchOptions {
  /** Users timed (after warm-up). */
  readonly users: number;
  readonly warmupUsers: number;
  readonly count: number;
}

export interface StageBenchResult {
  /** p50/p99 per stage or part of a stage, ms. */
  readonly stages: Record<string, Percentiles>;
  readonly users: { readonly warm: number; readonly cold: number };
  /** Mean candidates after retrieval and into the MTML. */
  readonly candidates: { readonly retrieved: number; readonly mtml: number };
}

/** Users the bundle knows who have enough history not to be cold, spread over the user table deterministically. */
export function warmUserIds(bundle: ServingBundle, config: ServingConfig, wanted: number): string[] {
  const { tables } = bundle;
  const total = tables.users.ids.size;
  const ids: string[] = [];
  const stride = 7919; // a prime, so the walk visits every row once
  for (let i = 0; i < total && ids.length < wanted; i++) {
    const row = (i * stride) % total;
    const id = tables.users.ids.id(row);
    if (!resolveFeedUser(tables, id, NO_REALTIME_STATE, config).cold) ids.push(id);
  }
  if (ids.length === 0) throw new Error("the bundle has no warm users (none with enough engagements)");
  return ids;
}

function feedRequest(bundle: ServingBundle, userId: string, config: ServingConfig, count: number): FeedRequest {
  const { tables } = bundle;
  return { user: resolveFeedUser(tables, userId, NO_REALTIME_STATE, config), count, surface: config.defaultSurface, nowMs: tables.asOfMs, exclude: new Set(), config };
}

/** A request context as a request builds it (the user embedding included), for timing one stage or source alone. */
function freshState(bundle: ServingBundle, request: FeedRequest): Promise<FeedState> {
  return createFeedState(bundle, request);
}

export async function benchStages(bundle: ServingBundle, options: StageBenchOptions): Promise<StageBenchResult> {
  const { tables, models } = bundle;
  const config = tables.config;
  const { retrievalUserTower, firstStageUserTower, retrievalIndex, mtml } = models;
  if (!retrievalUserTower || !firstStageUserTower || !retrievalIndex || !mtml) throw new Error("stage benchmark: the bundle's models did not all load");
  const ids = warmUserIds(bundle, config, options.users + options.warmupUsers);
  const samples = new Samples();
  let retrieved = 0;
  let scored = 0;
  let timedUsers = 0;

  for (let u = 0; u < ids.length; u++) {
    const record = u >= options.warmupUsers;
    const id = ids[u] as string;
    const request = await samples.time("user_activity", () => feedRequest(bundle, id, config, options.count), record);

    // the whole funnel, capturing what the first and second stages received
    let afterFilters: number[] = [];
    let afterFiltersScores: number[] = [];
    let intoMtml: number[] = [];
    let intoMtmlPriors: number[] = [];
    const stages: Stage[] = EXPLORE_STAGES.map((stage) => ({
      name: stage.name,
      run: async (state, candidates) => {
        const out = await stage.run(state, candidates);
        if (stage.name === "filters") {
          afterFilters = out.map((candidate) => candidate.item);
          afterFiltersScores = out.map((candidate) => candidate.retrievalScore);
        }
        if (stage.name === "first_stage") {
          intoMtml = out.map((candidate) => candidate.item);
          intoMtmlPriors = out.map((candidate) => candidate.logPrior ?? 0);
        }
        return out;
      },
    }));
    const started = performance.now();
    const result = await runFeed(bundle, request, stages);
    const funnelMs = performance.now() - started;
    if (!record) continue;
    timedUsers++;
    samples.add("funnel_total", funnelMs);
    for (const [name, ms] of Object.entries(result.timings)) samples.add(name, ms);
    retrieved += afterFilters.length;
    scored += intoMtml.length;

    // inside the stages
    const userEmbedding = await samples.time("user_tower", () => embedUser(retrievalUserTower, tables, request.user.context));
    const firstStageEmbedding = await samples.time("first_stage_user_tower", () => embedUser(firstStageUserTower, tables, request.user.context));
    await samples.time("ann_search", () => searchTwoTower(retrievalIndex, userEmbedding, config.retrieval.sources.two_tower.quota, config.retrieval.exactSearchMaxItemsPerResult));
    const sourceState = await freshState(bundle, request);
    for (const name of activeSources(sourceState)) await samples.time(`source:${name}`, () => runSource(sourceState, name));
    const retrievalForPrior = priorNeedsAffinity(config.valueModel) ? userEmbedding : undefined;
    await samples.time("first_stage_scoring", () => {
      const scores = firstStageScores(tables, firstStageEmbedding, afterFilters);
      const priors = logPriors(tables, config.valueModel, afterFilters, afterFiltersScores, retrievalForPrior);
      for (let c = 0; c < scores.length; c++) scores[c] = (scores[c] as number) + (priors[c] as number);
      return topK(scores, config.firstStage.keep);
    });
    const inputs = await samples.time("mtml_features", () => mtmlInputsFor(tables, request.user.context, intoMtml, request.surface, request.nowMs));
    const probabilities = await samples.time("mtml", () => runMtmlForOneUser({ mtml, mtmlOneUser: models.mtmlOneUser }, inputs));
    if (probabilities.length !== intoMtml.length * LABELS.length) throw new Error("stage benchmark: the MTML returned the wrong number of probabilities");
    await samples.time("value_model", () => valueScores(config.valueModel, probabilities, intoMtmlPriors));
  }

  // cold users: ids the bundle has never seen, so only the cold-start sources run
  const coldUsers = Math.max(10, Math.floor(options.users / 2));
  for (let u = 0; u < coldUsers + options.warmupUsers; u++) {
    const request = feedRequest(bundle, `bench-cold-user-${u}`, config, options.count);
    const started = performance.now();
    await runFeed(bundle, request);
    if (u >= options.warmupUsers) samples.add("funnel_total_cold", performance.now() - started);
  }

  return { stages: samples.summary(), users: { warm: timedUsers, cold: coldUsers }, candidates: { retrieved: retrieved / Math.max(1, timedUsers), mtml: scored / Math.max(1, timedUsers) } };
}
