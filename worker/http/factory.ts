import { createFactory } from "hono/factory";
import type { TimingVariables } from "hono/timing";

/** What every route and middleware of the Worker sees: its bindings, and the Server-Timing metrics of hono/timing. */
export type AppEnv = { Bindings: Env; Variables: TimingVariables };

/** Routes and middleware are built from this factory, so they share AppEnv without importing the app that mounts them. */
export const appFactory = createFactory<AppEnv>();
