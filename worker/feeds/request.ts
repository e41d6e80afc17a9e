import type { ServingConfig } from "../../core/config/serving";
import { applyOverride, type ConfigOverride } from "../../core/funnel/overrides";
import { experimentServing, type ServedArm } from "../../core/experiments/serve";
import type { FeedRequest } from "../../core/funnel/types";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import { resolveFeedUser } from "../../core/funnel/user";
import { readLiveCounters, type LiveCounters } from "./live-counters";
import { readFeedbackCalibration, type FeedbackCalibrationState } from "./feedback-calibration";
import { readRealtimeUser, readTrending } from "./realtime";
import { effectiveConfig } from "./serving-config";
import { shardedItemIndex, type RemoteItemIndex } from "../../core/shards/fan-out";
import { itemShardSearches } from "../shards/item-shard";
import { slowItemIndex, withModelFaults } from "../faults/inject";

/** What every feed route asks for, in the caller's ids. */
export interface FeedInput {
  readonly userId: string;
  readonly count: number;
  /** Item ids the caller leaves out, and those the feed session served already (ids the bundle does not know are ignored). */
  readonly exclude: readonly string[];
  /** The author ids of the feed session's last items before this page, oldest first. */
  readonly precedingAuthors?: readonly string[];
  /** The experiment's overrides of the serving config, if any. */
  readonly weights?: ConfigOverride | undefined;
}

/** A request hydrated from the Worker's state, ready for the core's pipeline. */
export interface HydratedFeedRequest {
  readonly request: FeedRequest;
  /** The bundle to run the request on: its counters advanced to the request's day, with the real-time impressions. */
  readonly bundle: ServingBundle;
  /** Where those counters come from. */
  readonly counters: LiveCounters;
  /**
   * Calibration from feedback: the maps in force (none when `problem` says why). They correct the probabilities the
   * answer reports (`reportedProbabilities`); the request's ranking reads them only with `calibration.feedbackInRanking`.
   */
  readonly feedback: FeedbackCalibrationState;
  /** Why the state is partial (real-time store or stored config unreadable): the response says degraded. */
  readonly problems: readonly string[];
  /** The user's real-time events, for the debug trace. */
  readonly realtimeEvents: number;
  /** Milliseconds spent reading the state. */
  readonly stateMs: number;
  /** The user's arm in each running experiment, which the response names. */
  readonly arms: readonly ServedArm[];
}

/**
 * The per-request setup every feed shares, done once: the user's real-time state, real-time trending, the item and
 * author counters as of the request's day and the serving config in effect (read together), the user's experiment arms and the request's overrides, the excluded ids as bundle rows, and the
 * user resolved against the bundle. `surfaceFor` picks the surface the request is scored for.
 */
export async function hydrateFeedRequest(env: Env, bundle: ServingBundle, input: FeedInput, nowMs: number, surfaceFor: (config: ServingConfig) => number): Promise<HydratedFeedRequest> {
  const started = performance.now();
  const [realtime, trending, counters, { config: stored, problem: configProblem }, feedback] = await Promise.all([
    readRealtimeUser(env, bundle, input.userId),
    readTrending(env, bundle, nowMs),
    readLiveCounters(env, bundle, nowMs),
    effectiveConfig(env, bundle, nowMs),
    readFeedbackCalibration(env, nowMs),
  ]);
  const stateMs = performance.now() - started;
  // the request's own overrides go on top of the user's arms: an explicit `weights` wins
  const served = experimentServing(stored, input.userId);
  const config = applyOverride(served.config, input.weights);
  const { tables } = bundle;
  const exclude = new Set<number>();
  for (const id of input.exclude) {
    const row = tables.items.ids.get(id);
    if (row !== undefined) exclude.add(row);
  }
  // an author the bundle does not know has no candidates: -1 stands for any of them
  const precedingAuthors = input.precedingAuthors?.map((id) => tables.items.authors.get(id) ?? -1);
  const user = resolveFeedUser(tables, input.userId, realtime.state, config);
  // faults a reliability run injects (worker/faults/inject.ts; none outside it): a slow two-tower index, trapping models
  const itemIndex = slowItemIndex(env) ?? itemShardsOf(env, bundle, config);
  return {
    request: { user, count: input.count, surface: surfaceFor(config), nowMs, exclude, config, ...(precedingAuthors?.length ? { precedingAuthors } : {}), ...(trending.value ? { trending: trending.value } : {}), ...(itemIndex ? { itemIndex } : {}), ...(config.calibration.feedbackInRanking && Object.keys(feedback.maps).length > 0 ? { feedbackCalibration: feedback.maps } : {}) },
    bundle: withModelFaults(env, counters.bundle),
    counters,
    feedback,
    problems: [...(realtime.problem ? [realtime.problem] : []), ...(trending.problem ? [trending.problem] : []), ...(counters.problem ? [counters.problem] : []), ...(configProblem ? [configProblem] : []), ...served.problems],
    realtimeEvents: realtime.state.engagements.length,
    stateMs,
    arms: served.arms,
  };
}

/** How long the fan-out waits for an item shard before serving without it (`ITEM_SHARD_TIMEOUT_MS` overrides). */
export const ITEM_SHARD_TIMEOUT_MS = 250;

/** The bundle's item shards as the two-tower source's index, when the bundle has shards. */
function itemShardsOf(env: Env, bundle: ServingBundle, config: ServingConfig): RemoteItemIndex | undefined {
  const shards = bundle.tables.manifest.models.retrieval.shards;
  if (shards === undefined) return undefined;
  const timeout = Number(env.ITEM_SHARD_TIMEOUT_MS ?? ITEM_SHARD_TIMEOUT_MS);
  const timeoutMs = Number.isFinite(timeout) && timeout > 0 ? timeout : ITEM_SHARD_TIMEOUT_MS;
  return shardedItemIndex(itemShardSearches(env, shards.count, config.retrieval.exactSearchMaxItemsPerResult), { version: bundle.version, timeoutMs });
}
