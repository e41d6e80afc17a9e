import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { withinTimeBudget } from "../../core/util/time-budget";
import { attributeEvents } from "../../core/experiments/attribute";
import type { UserEvent } from "../../core/realtime/events";
import { experimentsInEffect } from "./config";
import { experimentCounterStub } from "./counter";
import { logRecurringFailure } from "../../core/util/throttled-log";

/**
 * Counts a batch of events in every running experiment, each under its user's arm. Sent whole, not only the events
 * the users' states took as new: the counters recognise repeats themselves, so a batch retried after a failure here
 * completes the counts. "degraded" when an experiment could not count the batch (or the experiments could not be
 * read); a retry of the batch is safe and fills the gap.
 */
export async function recordExperimentEvents(env: Env, events: readonly UserEvent[], nowMs: number): Promise<"ok" | "degraded"> {
  let experiments;
  try {
    ({ experiments } = await experimentsInEffect(env, nowMs));
  } catch (error) {
    logRecurringFailure("experiments.config", "experiments: the serving config could not be read", error);
    return "degraded";
  }
  const outcomes = await Promise.allSettled(
    experiments.map(async (experiment) => {
      const counted = attributeEvents(experiment, events);
      // within a state object's budget: a counter that does not answer makes the batch degraded (a retry completes it)
      if (counted.length > 0) await withinTimeBudget(experimentCounterStub(env, experiment.name).record(experiment.name, counted), REQUEST_BUDGETS_MS.stateObject, `experiment ${experiment.name}'s counter`);
    }),
  );
  const failed = outcomes.filter((outcome) => outcome.status === "rejected");
  for (const failure of failed) logRecurringFailure("experiments.counter", "experiments: a counter could not take the batch", failure.reason);
  return failed.length > 0 ? "degraded" : "ok";
}
