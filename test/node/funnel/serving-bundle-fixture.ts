import { createRanker } from "../../../core/serving/serving-bundle";
import type { Ranker } from "../../../core/funnel/types";
import { createNodeUsearchRuntime } from "../../../scripts/ann/usearch-wasm";
import { loadBundleDirectory } from "../../../scripts/lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import { fixtureBundleDirectory } from "../../support/fixture-bundle";

let ranker: Promise<Ranker> | undefined;

/** The fixture bundle (built by the real pipeline from synthetic data) as a serving Ranker in Node. */
export function fixtureRanker(): Promise<Ranker> {
  ranker ??= (async () => {
    const { bundle } = await fixtureBundleDirectory();
    const loaded = await loadBundleDirectory(bundle);
    const created = await createRanker(loaded.manifest, loaded.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
    if (created.problems.length > 0) throw new Error(`fixture ranker degraded: ${created.problems.join("; ")}`);
    return created;
  })();
  return ranker;
}
