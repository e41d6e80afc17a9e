import type { ServingConfig } from "../../../core/config/serving";
import { NO_REALTIME_STATE, type FeedRequest, type RealtimeUserState } from "../../../core/funnel/types";
import { resolveFeedUser } from "../../../core/funnel/user";
import { openServingBundle, type ServingBundle } from "../../../core/serving/serving-bundle";
import { createNodeUsearchRuntime } from "../../../scripts/ann/usearch-wasm";
import { loadBundleDirectory } from "../../../scripts/lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import { fixtureBundleDirectory } from "../../support/fixture-bundle";

let cached: Promise<ServingBundle> | undefined;

/** The fixture bundle (built by the real pipeline from synthetic data) as a ServingBundle in Node. */
export function fixtureServingBundle(): Promise<ServingBundle> {
  cached ??= (async () => {
    const { bundle } = await fixtureBundleDirectory();
    const loaded = await loadBundleDirectory(bundle);
    const created = await openServingBundle(loaded.manifest, loaded.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
    if (created.problems.length > 0) throw new Error(`fixture bundle degraded: ${created.problems.join("; ")}`);
    return created;
  })();
  return cached;
}

/** The fixture user with the most training history (the first such row on ties). */
export function mostActiveUser(bundle: ServingBundle): string {
  const { histories, users } = bundle.tables;
  let best = -1;
  let id = "";
  for (let row = 0; row < users.ids.size; row++) {
    const events = (histories.offsets[row + 1] as number) - (histories.offsets[row] as number);
    if (events > best) [best, id] = [events, users.ids.id(row)];
  }
  return id;
}

export interface FixtureRequestOptions {
  readonly config?: Partial<ServingConfig>;
  readonly realtime?: RealtimeUserState;
  readonly exclude?: Set<number>;
  readonly count?: number;
  readonly trending?: FeedRequest["trending"];
}

/** A feed request for `userId` at the bundle's end of training, with the bundle's config and any overrides. */
export function fixtureFeedRequest(bundle: ServingBundle, userId: string, options: FixtureRequestOptions = {}): FeedRequest {
  const config = { ...bundle.tables.config, ...options.config };
  return {
    user: resolveFeedUser(bundle.tables, userId, options.realtime ?? NO_REALTIME_STATE, config),
    count: options.count ?? 20,
    surface: config.defaultSurface,
    nowMs: bundle.tables.asOfMs,
    exclude: options.exclude ?? new Set(),
    config,
    ...(options.trending ? { trending: options.trending } : {}),
  };
}
