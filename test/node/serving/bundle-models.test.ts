import { describe, expect, it } from "vitest";
import type { ModelSession, OnnxRuntimeAdapter } from "../../../core/inference/types";
import type { BundleTables } from "../../../core/serving/bundle-tables";
import { loadBundleModels, releaseBundleModels } from "../../../core/serving/bundle-models";
import { createNodeUsearchRuntime } from "../../../scripts/ann/usearch-wasm";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import { fixtureServingBundle } from "../funnel/serving-bundle-fixture";

/** The real onnxruntime-web adapter, refusing the model whose bytes are `refused` and counting sessions made and released. */
function countingAdapter(refused: Uint8Array | undefined) {
  const real = createNodeOrtWebAdapter();
  const counts = { created: 0, released: 0 };
  const adapter: OnnxRuntimeAdapter = {
    name: "counting",
    async createSession(bytes) {
      if (bytes === refused) throw new Error("refused on purpose");
      const session = await real.createSession(bytes);
      counts.created++;
      const counted: ModelSession = {
        runtimeName: session.runtimeName,
        inputs: session.inputs,
        outputs: session.outputs,
        run: (feeds, names) => session.run(feeds, names),
        runWithShapes: (feeds, names) => session.runWithShapes(feeds, names),
        release: async () => {
          counts.released++;
          await session.release();
        },
      };
      return counted;
    },
  };
  return { adapter, counts };
}

/** The fixture bundle's tables with one file's bytes replaced. */
function withFile(tables: BundleTables, path: string, bytes: Uint8Array): BundleTables {
  return new Proxy(tables, {
    get(target, property, receiver) {
      if (property === "file") return (wanted: string) => (wanted === path ? bytes : target.file(wanted));
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

describe("loadBundleModels", () => {
  it("names a model that fails and loads the others, and every session that loaded is released with the rest", async () => {
    const { tables } = await fixtureServingBundle();
    const { adapter, counts } = countingAdapter(tables.file(tables.manifest.models.first_stage.user_tower));
    const usearch = createNodeUsearchRuntime();
    const load = await loadBundleModels(tables, adapter, usearch);
    expect(load.problems).toHaveLength(1);
    expect(load.problems[0]).toMatch(/^model firstStageUserTower unavailable: .*refused on purpose/);
    expect(load.models.firstStageUserTower).toBeUndefined();
    expect(load.models.retrievalIndex).toBeDefined();
    expect(counts.created).toBeGreaterThanOrEqual(2);
    await releaseBundleModels(load.models);
    expect(counts.released).toBe(counts.created);
    expect(usearch.stats().liveIndexes).toBe(0);
  });

  it("names an ANN index that cannot be loaded, and every session is released with the rest", async () => {
    const { tables } = await fixtureServingBundle();
    const { adapter, counts } = countingAdapter(undefined);
    const usearch = createNodeUsearchRuntime();
    const broken = withFile(tables, tables.manifest.models.retrieval.index, new Uint8Array(64));
    const load = await loadBundleModels(broken, adapter, usearch);
    expect(load.problems).toHaveLength(1);
    expect(load.problems[0]).toMatch(/^model retrievalIndex unavailable: /);
    expect(counts.created).toBeGreaterThanOrEqual(3);
    await releaseBundleModels(load.models);
    expect(counts.released).toBe(counts.created);
    expect(usearch.stats().liveIndexes).toBe(0);
  });

  it("releases everything it loaded, and the index, through releaseBundleModels, and times every step", async () => {
    const { tables } = await fixtureServingBundle();
    const { adapter, counts } = countingAdapter(undefined);
    const usearch = createNodeUsearchRuntime();
    const load = await loadBundleModels(tables, adapter, usearch);
    expect(load.problems).toEqual([]);
    expect(Object.keys(load.stepMs).sort()).toEqual(Object.keys(load.models).sort());
    expect(usearch.stats().liveIndexes).toBe(1);
    await releaseBundleModels(load.models);
    expect(counts.released).toBe(counts.created);
    expect(usearch.stats().liveIndexes).toBe(0);
  });
});
