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
