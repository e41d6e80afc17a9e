import { rateEstimate } from "../../core/experiments/stats";
import { LABELS } from "../../core/data/labels";
import { INTERACTION_TYPES, type InteractionType } from "../../core/realtime/events";
import { experimentReportRoute, type ExperimentReport } from "../contract/experiments";
import { honoPath } from "../contract/route";
import { experimentsInEffect } from "../experiments/config";
import { experimentCounterStub, type ArmCounts } from "../experiments/counter";
import { bearerFor } from "../http/auth";
import { ApiError } from "../http/errors";
import { appFactory } from "../http/factory";
import { logRecurringFailure } from "../../core/util/throttled-log";

const NO_EVENTS = Object.fromEntries(INTERACTION_TYPES.map((type) => [type, 0])) as Record<InteractionType, number>;

/**
 * GET /v1/admin/experiments/:name (ADMIN_TOKEN): an experiment of the serving config in effect, running or stopped,
 * with what its counter holds per arm. The configured arms come first in config order, each even before it has
 * counted anything; arms with counts that the config no longer names follow, so edited experiments hide nothing.
 */
export const experimentRoutes = appFactory.createApp().get(honoPath(experimentReportRoute.path), bearerFor(experimentReportRoute.auth), async (c) => {
  const name = c.req.param("name") ?? "";
  let experiments;
  try {
    ({ experiments } = await experimentsInEffect(c.env, Date.now()));
  } catch (error) {
    logRecurringFailure("experiments.config", "experiments: the serving config could not be read", error);
    throw new ApiError(503, "experiment_unavailable", "the serving config in effect could not be read; try again later");
  }
  const experiment = experiments.find((candidate) => candidate.name === name);
  if (experiment === undefined) throw new ApiError(404, "not_found", `the serving config in effect has no experiment named ${JSON.stringify(name)}`, "name");
  let counts;
  try {
    counts = await experimentCounterStub(c.env, experiment.name).counts();
  } catch (error) {
    console.error(`experiments: the counter of ${experiment.name} could not be read`, error);
    throw new ApiError(503, "experiment_unavailable", `the counts of experiment ${JSON.stringify(name)} could not be read; try again later`);
  }
  const total = experiment.arms.reduce((sum, arm) => sum + arm.weight, 0);
  const counted = new Map(counts.arms.map((arm) => [arm.arm, arm]));
  const report = (arm: string, configured: { weight: number; override: ExperimentReport["arms"][number]["override"] } | undefined, armCounts: ArmCounts | undefined): ExperimentReport["arms"][number] => {
    const events = armCounts?.events ?? NO_EVENTS;
    return {
      arm,
      weight: configured?.weight ?? null,
      share: configured ? configured.weight / total : null,
      override: configured?.override ?? null,
      users: armCounts?.users ?? 0,
      impressions: events.impression,
      events,
      rates: Object.fromEntries(LABELS.map((label) => [label, rateEstimate(events[label], events.impression)])) as ExperimentReport["arms"][number]["rates"],
    };
  };
  const arms = [
    ...experiment.arms.map((arm) => report(arm.name, arm, counted.get(arm.name))),
    ...counts.arms.filter((arm) => !experiment.arms.some((configured) => configured.name === arm.arm)).map((arm) => report(arm.arm, undefined, arm)),
  ];
  return c.json({ experiment: experiment.name, running: experiment.running, start_ms: experiment.startMs ?? null, counted_events: counts.countedEvents, arms } satisfies ExperimentReport);
});
