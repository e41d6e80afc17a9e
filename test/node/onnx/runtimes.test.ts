// fp32 ONNX exports run by onnxruntime-web (Node, wasm) and onnxruntime-node match the plain TS forward pass.
import { describe, expect, it } from "vitest";
import { createOnnxruntimeNodeAdapter } from "../../../scripts/onnx/ort-node";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import { buildMtmlOnnx, buildTowerOnnx } from "../../fixtures/onnx/build-nets";
import { maxAbsDiff, mtmlFeeds, towerFeeds } from "../../fixtures/onnx/feeds";
import {
  MTML_HEADS,
  makeMtmlParams,
  makeTowerParams,
  mtmlReferenceForward,
  randomMtmlBatch,
  randomTowerBatch,
  towerReferenceForward,
} from "../../fixtures/onnx/nets";

const adapters = [createNodeOrtWebAdapter(), createOnnxruntimeNodeAdapter()];
const mtmlParams = makeMtmlParams();
const towerParams = makeTowerParams();
const mtmlBytes = buildMtmlOnnx(mtmlParams);
const towerBytes = buildTowerOnnx(towerParams);

describe.each(adapters)("fp32 on $name", (adapter) => {
  it("MTML-like net matches the TS forward within 1e-4 (batches 1, 7, 100)", async () => {
    const session = await adapter.createSession(mtmlBytes);
    expect(session.inputs.map((i) => i.name)).toEqual(["user_id", "item_id", "author_id", "tag_ids", "tag_mask", "dense"]);
    for (const [batch, seed] of [[1, 1], [7, 2], [100, 3]] as const) {
      const input = randomMtmlBatch(mtmlParams, batch, seed);
      const out = await session.runWithShapes(mtmlFeeds(input));
      expect(out.probabilities!.dims).toEqual([batch, MTML_HEADS.length]);
      expect(maxAbsDiff(out.probabilities!.data, mtmlReferenceForward(mtmlParams, input))).toBeLessThan(1e-4);
    }
    await session.release();
  });

  it("user tower matches the TS forward within 1e-4 and is unit-norm", async () => {
    const session = await adapter.createSession(towerBytes);
    for (const [batch, seed] of [[1, 4], [33, 5]] as const) {
      const input = randomTowerBatch(towerParams, batch, seed);
      const { embedding } = await session.run(towerFeeds(input));
      expect(maxAbsDiff(embedding!, towerReferenceForward(towerParams, input))).toBeLessThan(1e-4);
      const first = embedding!.subarray(0, 32);
      expect(Math.hypot(...first)).toBeCloseTo(1, 5);
    }
    await session.release();
  });

  it("an empty tag bag contributes zeros (mask contract)", async () => {
    const session = await adapter.createSession(mtmlBytes);
    const input = randomMtmlBatch(mtmlParams, 3, 9);
    input.tagMask.fill(0);
    // With every mask entry 0, the padded ids must not matter.
    const other = { ...input, tagIds: input.tagIds.map((id) => (id + 17) % mtmlParams.tag.rows) };
    const a = await session.run(mtmlFeeds(input));
    const b = await session.run(mtmlFeeds(other));
    expect(maxAbsDiff(a.probabilities!, b.probabilities!)).toBe(0);
    expect(maxAbsDiff(a.probabilities!, mtmlReferenceForward(mtmlParams, input))).toBeLessThan(1e-4);
    await session.release();
  });
});
