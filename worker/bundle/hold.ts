import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../http/factory";
import type { BundleState, WaitUntil } from "./cache";
import { bundleCache } from "./runtime";
import type { ServingBundle } from "../../core/serving/serving-bundle";

export type HeldBundleEnv = AppEnv & { Variables: { bundle: BundleState<ServingBundle> } };

/**
 * Gives the route the isolate's current bundle as `c.var.bundle` and holds that version until the response is
 * built: a bundle switch meanwhile releases the old version's models only after this request is done with them.
 */
export const holdServingBundle = createMiddleware<HeldBundleEnv>(async (c, next) =>
  bundleCache.use(c.env, executionContextOf(c), async (bundle) => {
    c.set("bundle", bundle);
    await next();
  }),
);

/** Hono throws when a request has no ExecutionContext (app.request in unit tests); background work then just runs. */
export function executionContextOf(c: Context): WaitUntil {
  try {
    return c.executionCtx;
  } catch {
    return { waitUntil: () => {} };
  }
}
