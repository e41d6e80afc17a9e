import type { ServingBundle } from "../../core/serving/serving-bundle";
import type { MtmlCalibration } from "../../core/ranking/calibration";
import type { HomeSettings } from "../../core/suggested/home-like";
import { suggestPosts, type Suggestion, type SuggestedFeed } from "../../core/suggested/suggest";
import type { SuggestedDebug, SuggestedItem, SuggestedResponse } from "../contract/feeds";
import { probabilitiesByLabel, reportedProbabilities, reportingMaps, round, significant } from "./explore-items";
import { serveFallback } from "./fallback";
import { hydrateFeedRequest } from "./request";

export interface SuggestedInput {
  readonly userId: string;
  readonly count: number;
  /** The caller's exclusions and what the feed session served already. */
  readonly exclude: readonly string[];
  /** The author ids of the feed session's last items before this page, oldest first. */
  readonly precedingAuthors: readonly string[];
  readonly debug: boolean;
}

type SuggestedBody = Omit<SuggestedResponse, "request_id" | "cursor">;

/** One Suggested Posts request against a loaded bundle: real-time state, the core, and the response shape. */
export async function serveSuggested(env: Env, bundle: ServingBundle, input: SuggestedInput, nowMs: number): Promise<{ body: SuggestedBody; timings: Record<string, number>; feedback: MtmlCalibration }> {
  const { request, bundle: served, problems, realtimeEvents, stateMs, arms, feedback } = await hydrateFeedRequest(env, bundle, input, nowMs, (config) => config.suggested.homeSurfaces[0] as number);
  const { tables } = bundle;
  // `served` is the bundle with its counters advanced to the request's day (worker/feeds/live-counters.ts)
  const feed = await suggestPosts(served, request);
  const degraded = [...feed.degraded, ...problems];
  const body: SuggestedBody = {
    user_id: input.userId,
    model_version: tables.version,
    cold_start: feed.cold,
    degraded: degraded.length > 0,
    items: feed.items.map((entry) => toItem(bundle, entry, reportingMaps(request, feedback.maps))),
    experiments: arms,
    ...(input.debug ? { debug: debugTrace(bundle, feed, degraded, request.user.engagements, realtimeEvents, request.config.suggested.home) } : {}),
  };
  return { body, timings: { state: stateMs, ...feed.timings }, feedback: feedback.maps };
}

/** Degraded mode (no usable bundle): the stored popular list, shaped as suggestions. */
export async function serveSuggestedFallback(env: Env, input: SuggestedInput, nowMs: number): Promise<{ items: SuggestedItem[]; reasons: string[] }> {
  const fallback = await serveFallback(env, input.userId, input.count, input.exclude, nowMs);
  return { items: fallback.items.map((item) => ({ item_id: item.item_id, author_id: item.author_id, score: item.score, seed_id: null, seed_type: "popular", p: null })), reasons: fallback.reasons };
}

function toItem(bundle: ServingBundle, entry: Suggestion, reportMaps: MtmlCalibration | undefined): SuggestedItem {
  const { items } = bundle.tables;
  return {
    item_id: items.ids.id(entry.item),
    author_id: items.authors.id(entry.author),
    score: significant(entry.score),
    seed_id: entry.seedId === undefined ? null : items.authors.id(entry.seedId),
    seed_type: entry.seedType,
    p: entry.probabilities ? probabilitiesByLabel(reportedProbabilities(entry.probabilities, reportMaps)) : null,
  };
}

function debugTrace(bundle: ServingBundle, feed: SuggestedFeed, degraded: readonly string[], engagedItems: number, realtimeEvents: number, home: HomeSettings): SuggestedDebug {
  const { items } = bundle.tables;
  const authorIds = (rows: readonly number[]) => rows.map((row) => items.authors.id(row));
  return {
    queries: feed.queries.map((run) => ({
      type: run.type,
      index: run.index,
      query: run.query,
      candidates: run.candidates,
      ...(run.trace ? { trace: { steps: run.trace.steps.map((step) => ({ ...step, elapsedMs: round(step.elapsedMs) })), total_ms: round(run.trace.totalMs) } } : {}),
      ...(run.error ? { error: run.error } : {}),
    })),
    seeds: { H: authorIds(feed.seeds.H), R: authorIds(feed.seeds.R), F: authorIds(feed.seeds.F) },
    fallback: feed.fallback,
    counts: feed.counts,
    user: { cold_start: feed.cold, engaged_items: engagedItems, realtime_events: realtimeEvents },
    home: {
      freshness_weight: home.freshnessWeight,
      author_similarity_weight: home.authorSimilarityWeight,
      max_type_excess: home.maxTypeExcess,
      type_mix: Object.fromEntries([...feed.home.typeMix].map(([type, share]) => [items.types.id(type), round(share)])),
      items: feed.items.map((entry, i) => {
        const terms = feed.home.terms[i];
        return { item_id: items.ids.id(entry.item), log_freshness: round(terms?.logFreshness ?? 0), author_similarity: round(terms?.authorSimilarity ?? 0) };
      }),
    },
    degraded_reasons: degraded,
  };
}
