import { LABELS } from "../../core/data/labels";
import { parseServingConfig, type ServingConfig } from "../../core/funnel/config";
import { runFeed } from "../../core/funnel/explore";
import { applyOverride, type ConfigOverride } from "../../core/funnel/overrides";
import type { Candidate, FunnelTrace, Ranker } from "../../core/funnel/types";
import { resolveFeedUser } from "../../core/funnel/user";
import { readPrecomputedFeed } from "./precompute";
import { readRealtimeUser, readTrending } from "./realtime";

export const SERVING_CONFIG_KEY = "config/serving";

export interface ExploreInput {
  readonly userId: string;
  readonly count: number;
  readonly exclude: readonly string[];
  readonly surface: number | undefined;
  readonly debug: boolean;
  readonly weights: ConfigOverride | undefined;
}

export interface ExploreItem {
  item_id: string;
  author_id: string;
  score: number;
  sources: string[];
  p: Record<string, number> | null;
}

export interface ExploreOutput {
  readonly body: { user_id: string; model_version: string; cold_start: boolean; degraded: boolean; items: ExploreItem[]; debug?: Record<string, unknown> };
  readonly timings: Record<string, number>;
}

const CONFIG_TTL_MS = 30_000;
let configCache: { at: number; version: string; config: ServingConfig; problem?: string } | undefined;

/**
 * The serving config: an operator's override stored in KV (`config/serving`, set through the admin route)
 * when present and valid, else the bundle's. Cached per isolate for 30 s.
 */
export async function effectiveConfig(env: Env, ranker: Ranker, nowMs: number): Promise<{ config: ServingConfig; problem?: string }> {
  if (configCache && configCache.version === ranker.assets.version && nowMs - configCache.at < CONFIG_TTL_MS) return configCache;
  let config = ranker.assets.config;
  let problem: string | undefined;
  try {
    const stored = await env.BUNDLES.get(SERVING_CONFIG_KEY, "json");
    if (stored !== null) config = parseServingConfig(stored, SERVING_CONFIG_KEY);
  } catch (error) {
    problem = `stored serving config ignored: ${(error as Error).message}`;
  }
  configCache = { at: nowMs, version: ranker.assets.version, config, ...(problem ? { problem } : {}) };
  return configCache;
}

export function resetServingConfigCache(): void {
  configCache = undefined;
}

/** One Explore request against a loaded ranker: real-time state, the funnel, and the response shape. */
export async function serveExplore(env: Env, ranker: Ranker, input: ExploreInput, nowMs: number): Promise<ExploreOutput> {
  const started = performance.now();
  const [realtime, trending, { config: baseConfig, problem: configProblem }] = await Promise.all([
    readRealtimeUser(env, ranker, input.userId),
    readTrending(env, ranker, nowMs),
    effectiveConfig(env, ranker, nowMs),
  ]);
  const config = applyOverride(baseConfig, input.weights);
  const stateMs = performance.now() - started;
  const { assets } = ranker;
  const exclude = new Set<number>();
  for (const id of input.exclude) {
    const row = assets.items.ids.get(id);
    if (row !== undefined) exclude.add(row);
  }
  const user = resolveFeedUser(assets, input.userId, realtime.state, config);
  // a fresh off-peak feed serves plain requests (no experiment overrides), minus what the user has seen since
  if (!input.weights) {
    const precomputed = await readPrecomputedFeed(env, ranker, input.userId, nowMs, config.precompute.maxAgeMinutes);
    if (precomputed) {
      const items = precomputed.items.filter((item) => {
        const row = assets.items.ids.get(item.item_id);
        return row === undefined || !(exclude.has(row) || (config.rerank.dropSeen && user.seen.has(row)));
      });
      if (items.length >= input.count) {
        const body: ExploreOutput["body"] = { user_id: input.userId, model_version: assets.version, cold_start: user.cold, degraded: false, items: items.slice(0, input.count) };
        if (input.debug) body.debug = { precomputed: { computed_at: new Date(precomputed.computed_at).toISOString(), stored: precomputed.items.length, after_filters: items.length } };
        return { body, timings: { state: stateMs, precomputed: performance.now() - started - stateMs } };
      }
    }
  }
  const result = await runFeed(ranker, {
    user,
    count: input.count,
    surface: input.surface ?? config.defaultSurface,
    nowMs,
    exclude,
    config,
    ...(trending ? { trending } : {}),
  });
  const degraded = [...result.degraded, ...(realtime.problem ? [realtime.problem] : []), ...(configProblem ? [configProblem] : [])];
  const body: ExploreOutput["body"] = {
    user_id: input.userId,
    model_version: assets.version,
    cold_start: user.cold,
    degraded: degraded.length > 0,
    items: result.candidates.map((candidate) => toItem(ranker, candidate)),
  };
  if (input.debug) body.debug = debugTrace(result.trace, degraded, user.cold, user.engagements, realtime.state.engagements.length, config);
  return { body, timings: { state: stateMs, ...result.timings } };
}

export function toItem(ranker: Ranker, candidate: Candidate): ExploreItem {
  const { items } = ranker.assets;
  return {
    item_id: items.ids.id(candidate.item),
    author_id: items.authors.id(items.author[candidate.item] as number),
    score: round(candidate.score),
    sources: candidate.sources.map((hit) => hit.source),
    p: candidate.probabilities ? Object.fromEntries(LABELS.map((label, l) => [label, round(candidate.probabilities?.[l] as number)])) : null,
  };
}

function debugTrace(trace: FunnelTrace, degraded: readonly string[], cold: boolean, engagements: number, realtimeEvents: number, config: ServingConfig): Record<string, unknown> {
  return {
    stages: trace.stages.map((stage) => ({ ...stage, ms: round(stage.ms) })),
    sources: Object.fromEntries(Object.entries(trace.sources).map(([name, source]) => [name, { ...source, ms: round(source.ms) }])),
    rules: trace.rules,
    user: { cold_start: cold, engaged_items: engagements, realtime_events: realtimeEvents },
    degraded_reasons: degraded,
    config: { sources: config.retrieval.sources, value_model: config.valueModel, first_stage_keep: config.firstStage.keep, rerank: config.rerank },
  };
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
