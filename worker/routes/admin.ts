import { parseServingConfig, servingConfigSchema } from "../../core/config/serving";
import { appFactory } from "../http/factory";
import { bundleCache } from "../bundle/runtime";
import { deleteConfigRoute, getConfigRoute, putConfigRoute, type ConfigResponse, type DeletedConfigResponse, type StoredConfigResponse } from "../contract/admin";
import { SERVING_CONFIG_KEY, effectiveConfig, resetServingConfigCache } from "../feeds/serving-config";
import { resetExperimentsCache } from "../experiments/config";
import { bearerFor } from "../http/auth";
import { ApiError } from "../http/errors";
import { jsonBody } from "../http/validation";

/**
 * Operators' routes (ADMIN_TOKEN): read the serving config in effect, store a new one in KV (validated;
 * every isolate picks it up within 30 s), or drop the stored one to fall back to the bundle's.
 */
export const adminRoutes = appFactory.createApp()
  .get(getConfigRoute.path, bearerFor(getConfigRoute.auth), async (c) => {
    const bundle = await bundleCache.current(c.env, c.executionCtx);
    if (bundle.status !== "ready") throw new ApiError(503, "bundle_unavailable", `no model bundle is loaded: ${bundle.reasons.join("; ")}`);
    const stored = await c.env.BUNDLES.get(SERVING_CONFIG_KEY, "json");
    const { config, problem } = await effectiveConfig(c.env, bundle.decoded, Date.now());
    return c.json({ source: stored === null || problem ? "bundle" : "kv", model_version: bundle.version, config, ...(problem ? { problem } : {}) } satisfies ConfigResponse);
  })
  .put(putConfigRoute.path, bearerFor(putConfigRoute.auth), jsonBody(putConfigRoute.body), async (c) => {
    const config = parseServingConfig(c.req.valid("json"));
    await c.env.BUNDLES.put(SERVING_CONFIG_KEY, JSON.stringify(config));
    resetServingConfigCache();
    resetExperimentsCache();
    return c.json({ stored: SERVING_CONFIG_KEY, config } satisfies StoredConfigResponse);
  })
  .delete(deleteConfigRoute.path, bearerFor(deleteConfigRoute.auth), async (c) => {
    await c.env.BUNDLES.delete(SERVING_CONFIG_KEY);
    resetServingConfigCache();
    resetExperimentsCache();
    return c.json({ deleted: SERVING_CONFIG_KEY } satisfies DeletedConfigResponse);
  });
