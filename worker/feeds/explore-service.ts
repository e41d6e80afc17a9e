import type { ServingConfig } from "../../core/config/serving";
import { runFeed } from "../../core/funnel/explore";
import type { ConfigOverride } from "../../core/funnel/overrides";
import { fillByAuthorRules } from "../../core/funnel/stages/rerank";
import type { FunnelTrace } from "../../core/funnel/types";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import type { MtmlCalibration } from "../../core/ranking/calibration";
import type { ExploreDebug, ExploreResponse } from "../contract/feeds";
import { reportedByLabel, reportingMaps, round, toItem } from "./explore-items";
import { readPrecomputedFeed } from "./precompute";
import { hydrateFeedRequest } from "./request";
import { configFingerprint } from "./serving-config";

export interface ExploreInput {
  readonly userId: string;
  readonly count: number;
  /** The caller's exclusions and what the feed session served already. */
  readonly exclude: readonly string[];
  /** The author ids of the feed session's last items before this page, oldest first. */
  readonly precedingAuthors: readonly string[];
  readonly surface: number | undefined;
  readonly debug: boolean;
  readonly weights: ConfigOverride | undefined;
}

export interface ExploreOutput {
  /** The page without its request id and cursor (the route adds those). */
  readonly body: Omit<ExploreResponse, "request_id" | "cursor">;
  readonly timings: Record<string, number>;
  /**
   * The feedback maps the body's probabilities went through (FeedPage.record undoes them to keep the model's own for
   * the items' impressions).
   */
  readonly feedback: MtmlCalibration;
}

/** One Explore request against a loaded bundle: real-time state, the funnel, and the response shape. */
export async function serveExplore(env: Env, bundle: ServingBundle, input: ExploreInput, nowMs: number): Promise<ExploreOutput> {
  const started = performance.now();
  const { request, bundle: served, problems, realtimeEvents, stateMs, arms, feedback } = await hydrateFeedRequest(env, bundle, input, nowMs, (config) => input.surface ?? config.defaultSurface);
  const { user, config, exclude, surface } = request;
  const { tables } = bundle;
  // a fresh off-peak feed serves plain requests (no experiment overrides) for the surface and config it was computed
  // for, minus what the user has seen since and what the request excludes
  if (!input.weights) {
    const precomputed = await readPrecomputedFeed(env, bundle, input.userId, nowMs, { surface, configFingerprint: await configFingerprint(config), maxAgeMinutes: config.precompute.maxAgeMinutes });
    if (precomputed) {
      const kept = precomputed.items.filter((item) => {
        const row = tables.items.ids.get(item.item_id);
        return row === undefined || !(exclude.has(row) || (config.rerank.dropSeen && user.seen.has(row)));
      });
      // dropping items can bring two of one author together: the rerank's author rules again, over what is left
      const { page } = fillByAuthorRules(kept, (item) => item.author_id, config.rerank, input.count, { preceding: input.precedingAuthors });
      if (page.length >= input.count) {
        const body: ExploreOutput["body"] = {
          user_id: input.userId,
          model_version: tables.version,
          cold_start: user.cold,
          degraded: false,
          // a precomputed page holds the model's probabilities (the cron scores without feedback maps): reported through the maps in force now
          items: page.map((item) => ({ ...item, p: item.p ? reportedByLabel(item.p, feedback.maps) : null })),
          experiments: arms,
          ...(input.debug ? { debug: { precomputed: { computed_at: new Date(precomputed.computed_at).toISOString(), stored: precomputed.items.length, after_filters: kept.length } } } : {}),
        };
        return { body, timings: { state: stateMs, precomputed: performance.now() - started - stateMs }, feedback: feedback.maps };
      }
    }
  }
  // `served` is the bundle with its counters advanced to the request's day (worker/feeds/live-counters.ts)
  const result = await runFeed(served, request);
  const degraded = [...result.degraded, ...problems];
  const body: ExploreOutput["body"] = {
    user_id: input.userId,
    model_version: tables.version,
    cold_start: user.cold,
    degraded: degraded.length > 0,
    items: result.candidates.map((candidate) => toItem(bundle, candidate, reportingMaps(request, feedback.maps))),
    experiments: arms,
    ...(input.debug ? { debug: debugTrace(result.trace, degraded, user.cold, user.engagements, realtimeEvents, config) } : {}),
  };
  return { body, timings: { state: stateMs, ...result.timings }, feedback: feedback.maps };
}

function debugTrace(trace: FunnelTrace, degraded: readonly string[], cold: boolean, engagements: number, realtimeEvents: number, config: ServingConfig): ExploreDebug {
  return {
    stages: trace.stages.map((stage) => ({ ...stage, ms: round(stage.ms) })),
    sources: Object.fromEntries(Object.entries(trace.sources).map(([name, source]) => [name, { ...source, ms: round(source.ms) }])),
    rules: trace.rules,
    user: { cold_start: cold, engaged_items: engagements, realtime_events: realtimeEvents },
    degraded_reasons: degraded,
    config: { sources: config.retrieval.sources, value_model: config.valueModel, first_stage_keep: config.firstStage.keep, rerank: config.rerank },
  };
}
