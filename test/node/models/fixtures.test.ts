// The committed model fixtures (test/fixtures/models/, used by test/worker/models.test.ts) are exactly what
// scripts/models/fixtures.ts builds today, so they cannot drift from the models, the feature code or the exporter.
// After an intended change: npm run models:fixtures
import { readFile, readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseFeatureSpec } from "../../../core/features/spec";
import { readOnnxModelInfo } from "../../../core/inference/onnx-model-info";
import { runMtml, runTower, userTowerFeeds } from "../../../core/serving/model-runs";
import { MODEL_FIXTURE_FILES, buildModelFixtureFiles, type ModelFixtureCases } from "../../../scripts/models/fixtures";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import { maxAbsDiff } from "./helpers";

const directory = fileURLToPath(new URL("../../fixtures/models/", import.meta.url));

describe("model fixtures", () => {
  it("are byte-identical to a fresh build (npm run models:fixtures regenerates them)", async () => {
    const built = await buildModelFixtureFiles();
    expect(Object.keys(built).sort()).toEqual(Object.values(MODEL_FIXTURE_FILES).sort());
    const committed = (await readdir(directory)).sort();
    expect(committed).toEqual(Object.keys(built).sort());
    for (const [name, bytes] of Object.entries(built)) {
      const onDisk = new Uint8Array(await readFile(directory + name));
      expect(onDisk.byteLength, `${name} size`).toBe(bytes.byteLength);
      expect(Buffer.compare(Buffer.from(onDisk), Buffer.from(bytes)), `${name} is stale: run npm run models:fixtures`).toBe(0);
    }
  });

  it("hold a valid feature spec that the models name by hash, and outputs onnxruntime-web reproduces", async () => {
    const cases = JSON.parse(await readFile(directory + MODEL_FIXTURE_FILES.cases, "utf8")) as ModelFixtureCases;
    parseFeatureSpec(cases.feature_spec);
    const runtime = createNodeOrtWebAdapter();
    const fp32 = new Uint8Array(await readFile(directory + MODEL_FIXTURE_FILES.mtmlFp32));
    expect(readOnnxModelInfo(fp32).metadataProps.feature_spec_sha256).toBe(cases.feature_spec_sha256);
    const session = await runtime.createSession(fp32);
    const { inputs } = cases.mtml;
    const probabilities = await runMtml(session, {
      size: inputs.size,
      user: Int32Array.from(inputs.user),
      item: Int32Array.from(inputs.item),
      author: Int32Array.from(inputs.author),
      categorical: Int32Array.from(inputs.categorical),
      tags: Int32Array.from(inputs.tags),
      dense: Float32Array.from(inputs.dense),
    });
    expect(maxAbsDiff(probabilities, cases.mtml.probabilities)).toBeLessThan(1e-4);
    const tower = await runtime.createSession(new Uint8Array(await readFile(directory + MODEL_FIXTURE_FILES.userTower)));
    const users = cases.user_tower.inputs;
    const embedding = await runTower(tower, userTowerFeeds({ size: users.size, categorical: Int32Array.from(users.categorical), history: Int32Array.from(users.history), historyAuthors: Int32Array.from(users.history_authors), dense: Float32Array.from(users.dense) }), users.size);
    expect(maxAbsDiff(embedding, cases.user_tower.embedding)).toBeLessThan(1e-4);
    await Promise.all([session.release(), tower.release()]);
  });
});
