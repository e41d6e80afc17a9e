import type { ServingConfig } from "../../core/config/serving";
import { applyOverride, type ConfigOverride } from "../../core/funnel/overrides";
import type { FeedRequest } from "../../core/funnel/types";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import { resolveFeedUser } from "../../core/funnel/user";
import { readRealtimeUser, readTrending } from "./realtime";
import { effectiveConfig } from "./serving-config";

/** What every feed route asks for, in the caller's ids. */
export interface FeedInput {
  readonly userId: string;
  readonly count: number;
  /** Item ids the caller leaves out (ids the bundle does not know are ignored). */
  readonly exclude: readonly string[];
  /** The experiment's overrides of the serving config, if any. */
  readonly weights?: ConfigOverride | undefined;
}

/** A request hydrated from the Worker's state, ready for the core's pipeline. */
export interface HydratedFeedRequest {
  readonly request: FeedRequest;
  /** Why the state is partial (real-time store or stored config unreadable): the response says degraded. */
  readonly problems: readonly string[];
  /** The user's real-time events, for the debug trace. */
  readonly realtimeEvents: number;
  /** Milliseconds spent reading the state. */
  readonly stateMs: number;
}

/**
 * The per-request setup every feed shares, done once: the user's real-time state, real-time trending and the
 * serving config in effect (read together), the experiment's overrides, the excluded ids as bundle rows, and the
 * user resolved against the bundle. `surfaceFor` picks the surface the request is scored for.
 */
export async function hydrateFeedRequest(env: Env, bundle: ServingBundle, input: FeedInput, nowMs: number, surfaceFor: (config: ServingConfig) => number): Promise<HydratedFeedRequest> {
  const started = performance.now();
  const [realtime, trending, { config: stored, problem: configProblem }] = await Promise.all([
    readRealtimeUser(env, bundle, input.userId),
    readTrending(env, bundle, nowMs),
    effectiveConfig(env, bundle, nowMs),
  ]);
  const stateMs = performance.now() - started;
  const config = applyOverride(stored, input.weights);
  const { tables } = bundle;
  const exclude = new Set<number>();
  for (const id of input.exclude) {
    const row = tables.items.ids.get(id);
    if (row !== undefined) exclude.add(row);
  }
  const user = resolveFeedUser(tables, input.userId, realtime.state, config);
  return {
    request: { user, count: input.count, surface: surfaceFor(config), nowMs, exclude, config, ...(trending ? { trending } : {}) },
    problems: [...(realtime.problem ? [realtime.problem] : []), ...(configProblem ? [configProblem] : [])],
    realtimeEvents: realtime.state.engagements.length,
    stateMs,
  };
}
