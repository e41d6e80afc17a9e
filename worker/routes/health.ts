import packageJson from "../../package.json";
import { appFactory } from "../http/factory";
import { bundleCache, isolateWasmMemory } from "../bundle/runtime";
import { executionContextOf } from "../bundle/hold";
import { healthRoute, type HealthResponse } from "../contract/health";
import type { ServingBundle } from "../../core/serving/serving-bundle";

/**
 * `status` is "ok" when a model bundle is serving and "degraded" (still HTTP 200: the Worker answers, with fallbacks)
 * when none is usable; `degraded` then says why. `bundle.last_failure` reports a newer version that failed to load
 * while an older one keeps serving.
 */
export const healthRoutes = appFactory.createApp().get(healthRoute.path, async (c) => {
  const state = await bundleCache.current(c.env, executionContextOf(c));
  const { checkedAt, loadingVersion, lastFailure } = bundleCache.snapshot();
  const bundle =
    state.status === "ready"
      ? {
          version: state.version,
          created_at: state.bundle.manifest.created_at,
          loaded_at: new Date(state.bundle.loadedAt).toISOString(),
          load_ms: state.bundle.loadMs,
          // what followed the KV read, step by step (cold-start breakdown; 0 where the clock advances only at I/O)
          open_ms: openMsOf(state.decoded.openMs),
          files: state.bundle.files.size,
          bytes: [...state.bundle.files.values()].reduce((sum, bytes) => sum + bytes.byteLength, 0),
          checked_at: checkedAt === null ? null : new Date(checkedAt).toISOString(),
          loading: loadingVersion,
          last_failure: lastFailure === null ? null : { version: lastFailure.version, reasons: lastFailure.reasons, at: new Date(lastFailure.at).toISOString() },
        }
      : null;
  return c.json({
    status: state.status === "ready" ? "ok" : "degraded",
    version: packageJson.version,
    bundle,
    degraded: state.status === "ready" ? [] : state.reasons,
    isolate: { wasm_memory_bytes: isolateWasmMemory() },
  } satisfies HealthResponse);
});

function openMsOf(open: ServingBundle["openMs"]): Record<string, number> {
  const ms = (value: number) => Math.round(value * 10) / 10;
  const steps = Object.fromEntries(Object.entries(open.modelSteps).map(([step, value]) => [`model_${step}`, ms(value)]));
  return { tables: ms(open.tables), index: ms(open.index), models: ms(open.models), ...steps };
}
