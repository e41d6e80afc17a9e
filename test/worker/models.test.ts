/// <reference path="../fixtures/onnx/binary-modules.d.ts" />
// The real models' exports (test/fixtures/models/, built by scripts/models/fixtures.ts from MtmlModel and
// TwoTowerModel) inside workerd, on onnxruntime-web, fed through core/serving/model-runs.ts as the Worker feeds them:
// fp32 within 1e-4 of the TypeScript forward, the served int8 variant within 1e-2.
import { describe, expect, it } from "vitest";
import { hashBytes } from "../../core/bundle/manifest";
import { LABELS } from "../../core/data/labels";
import type { MtmlInputs } from "../../core/features/mtml-features";
import { parseFeatureSpec } from "../../core/features/spec";
import type { UserTowerInputs } from "../../core/features/tower-features";
import { readOnnxModelInfo } from "../../core/inference/onnx-model-info";
import { runMtml, runTower, userTowerFeeds } from "../../core/serving/model-runs";
import { createWorkerdOrtAdapter } from "../../worker/inference/ort-web-workerd";
import cases from "../fixtures/models/cases.json";
import mtmlServedFile from "../fixtures/models/mtml.dynamic-int8-fp32-dense.onnx.bin";
import mtmlFp32File from "../fixtures/models/mtml.fp32.onnx.bin";
import userTowerFile from "../fixtures/models/retrieval-user-tower.fp32.onnx.bin";

const adapter = createWorkerdOrtAdapter();
const spec = parseFeatureSpec(cases.feature_spec);

const mtmlInputs: MtmlInputs = {
  size: cases.mtml.inputs.size,
  user: Int32Array.from(cases.mtml.inputs.user),
  item: Int32Array.from(cases.mtml.inputs.item),
  author: Int32Array.from(cases.mtml.inputs.author),
  categorical: Int32Array.from(cases.mtml.inputs.categorical),
  tags: Int32Array.from(cases.mtml.inputs.tags),
  dense: Float32Array.from(cases.mtml.inputs.dense),
};
const userInputs: UserTowerInputs = {
  size: cases.user_tower.inputs.size,
  categorical: Int32Array.from(cases.user_tower.inputs.categorical),
  history: Int32Array.from(cases.user_tower.inputs.history),
  historyAuthors: Int32Array.from(cases.user_tower.inputs.history_authors),
  dense: Float32Array.from(cases.user_tower.inputs.dense),
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) throw new Error(`cannot compare ${a.length} with ${b.length} values`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!Number.isFinite(d)) throw new Error(`non-finite value at ${i}`);
    max = Math.max(max, d);
  }
  return max;
}

function paddedRows(ids: Int32Array, width: number): number {
  let count = 0;
  for (let r = 0; r * width < ids.length; r++) if (ids.subarray(r * width, (r + 1) * width).every((id) => id === 0)) count++;
  return count;
}

describe("the real models in workerd (test/fixtures/models)", () => {
  it("fixtures cover the padding cases and match the feature spec they were built with", async () => {
    expect(paddedRows(mtmlInputs.tags, spec.maxTags)).toBeGreaterThan(0); // untagged items
    expect(mtmlInputs.user.some((u) => u === 0)).toBe(true); // unknown users
    expect(paddedRows(userInputs.history, spec.tower.historyLength)).toBeGreaterThan(0); // empty histories
    expect(paddedRows(userInputs.history, spec.tower.historyLength)).toBeLessThan(userInputs.size);
    const specHash = await hashBytes(new TextEncoder().encode(JSON.stringify(cases.feature_spec)));
    expect(specHash).toBe(cases.feature_spec_sha256);
    for (const file of [mtmlFp32File, mtmlServedFile, userTowerFile]) expect(readOnnxModelInfo(new Uint8Array(file)).metadataProps.feature_spec_sha256).toBe(specHash);
  });

  it("runs the fp32 MTML within 1e-4 of the TypeScript forward", async () => {
    const session = await adapter.createSession(new Uint8Array(mtmlFp32File));
    expect(session.runtimeName).toBe("onnxruntime-web/workerd");
    expect(session.inputs.map((input) => input.name)).toEqual(["item", "author", "categorical", "tags", "dense"]);
    const probabilities = await runMtml(session, mtmlInputs);
    expect(probabilities.length).toBe(mtmlInputs.size * LABELS.length);
    expect(maxAbsDiff(probabilities, cases.mtml.probabilities)).toBeLessThan(1e-4);
    await session.release();
  });

  it("runs the served quantization (dynamic int8, dense input in fp32) within 1e-2", async () => {
    const info = readOnnxModelInfo(new Uint8Array(mtmlServedFile));
    expect(info.metadataProps.quantization).toMatch(/^dynamic-int8/);
    expect(cases.mtml.served_quantization).toBe("dynamic-int8-fp32-dense");
    const session = await adapter.createSession(new Uint8Array(mtmlServedFile));
    const difference = maxAbsDiff(await runMtml(session, mtmlInputs), cases.mtml.probabilities);
    expect(difference).toBeLessThan(1e-2);
    expect(difference).toBeGreaterThan(1e-6); // really quantized
    await session.release();
  });

  it("runs the retrieval user tower within 1e-4, unit-norm even for users with no history", async () => {
    const session = await adapter.createSession(new Uint8Array(userTowerFile));
    const embedding = await runTower(session, userTowerFeeds(userInputs), userInputs.size);
    expect(maxAbsDiff(embedding, cases.user_tower.embedding)).toBeLessThan(1e-4);
    const dim = cases.user_tower.output_dim;
    for (let r = 0; r < userInputs.size; r++) expect(Math.hypot(...embedding.subarray(r * dim, (r + 1) * dim))).toBeCloseTo(1, 5);
    await session.release();
  });
});
