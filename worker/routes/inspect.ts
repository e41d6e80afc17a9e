import { ConfigOverrideError } from "../../core/funnel/overrides";
import { holdServingBundle } from "../bundle/hold";
import { inspectRequest, inspectRoute, type Inspection } from "../contract/inspect";
import { bearerFor } from "../http/auth";
import { ApiError } from "../http/errors";
import { appFactory } from "../http/factory";
import { jsonBody } from "../http/validation";
import { INSPECTOR_ASSETS, INSPECTOR_PAGE, INSPECTOR_PAGE_HEADERS } from "../inspector/page";
import { inspectUser } from "../inspector/service";

/**
 * The inspector. `GET /inspect` is a page with no data in it, so it is served to anyone: a browser cannot send a
 * bearer token when it navigates. The page asks for the admin token and reads everything through
 * `POST /v1/inspect`, which requires it like every operator's route.
 */
export const inspectRoutes = appFactory.createApp()
  .get("/inspect", (c) => c.html(INSPECTOR_PAGE, 200, INSPECTOR_PAGE_HEADERS))
  .get("/inspect/inspector.js", (c) => c.body(INSPECTOR_ASSETS.script, 200, { ...INSPECTOR_PAGE_HEADERS, "content-type": "text/javascript; charset=utf-8" }))
  .get("/inspect/inspector.css", (c) => c.body(INSPECTOR_ASSETS.style, 200, { ...INSPECTOR_PAGE_HEADERS, "content-type": "text/css; charset=utf-8" }))
  .post(inspectRoute.path, bearerFor(inspectRoute.auth), jsonBody(inspectRoute.body), holdServingBundle, async (c) => {
    const input = c.req.valid("json");
    const { bundle } = c.var;
    if (bundle.status !== "ready") throw new ApiError(503, "bundle_unavailable", `no model bundle is loaded: ${bundle.reasons.join("; ")}`);
    const nowMs = input.at_ms ?? Date.now();
    let inspection;
    try {
      inspection = await inspectUser(c.env, bundle.decoded, { userId: input.user_id, count: input.count, surface: input.surface, weights: input.weights, cutLimit: input.cut_limit, historyLimit: input.history_limit }, nowMs);
    } catch (error) {
      if (error instanceof ConfigOverrideError) throw new ApiError(400, "invalid_request", error.message, `weights${error.field ? `.${error.field}` : ""}`);
      throw error;
    }
    return c.json({ request_id: crypto.randomUUID(), ...inspection } satisfies Inspection);
  });
