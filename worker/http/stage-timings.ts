import type { Context } from "hono";
import { setMetric } from "hono/timing";

/**
 * Adds the funnel's per-stage durations to the Server-Timing header that hono/timing writes. Stage names come from
 * core code, but a metric name must be an HTTP token, so anything else in one becomes `_`.
 */
export function setStageMetrics(c: Context, timings: Readonly<Record<string, number>>): void {
  for (const [stage, ms] of Object.entries(timings)) setMetric(c, stage.replace(/[^A-Za-z0-9_-]/g, "_"), ms, undefined, 2);
}
