/// <reference path="../fixtures/onnx/binary-modules.d.ts" />
// onnxruntime-web (wasm SIMD, single thread) inside workerd, on the committed fixture models.
import { describe, expect, it } from "vitest";
import { float32Feed } from "../../core/inference/feeds";
import { readOnnxModelInfo } from "../../core/inference/onnx-model-info";
import { createWorkerdOrtAdapter } from "../../worker/inference/ort-web-workerd";
import mtmlDynamicFile from "../fixtures/onnx/mtml.dynamic-int8.onnx.bin";
import mtmlFp32File from "../fixtures/onnx/mtml.fp32.onnx.bin";
import mtmlQdqFile from "../fixtures/onnx/mtml.qdq-int8.onnx.bin";
import towerDynamicFile from "../fixtures/onnx/tower.dynamic-int8.onnx.bin";
import towerFp32File from "../fixtures/onnx/tower.fp32.onnx.bin";
import towerQdqFile from "../fixtures/onnx/tower.qdq-int8.onnx.bin";
import { maxAbsDiff, mtmlFeeds, towerFeeds } from "../fixtures/onnx/feeds";
import {
  makeMtmlParams,
  makeTowerParams,
  mtmlReferenceForward,
  randomMtmlBatch,
  randomTowerBatch,
  towerReferenceForward,
} from "../fixtures/onnx/nets";

const adapter = createWorkerdOrtAdapter();
const mtmlParams = makeMtmlParams();
const towerParams = makeTowerParams();
const originalInstantiate = WebAssembly.instantiate;
// The smallest valid wasm module: magic + version.
const emptyWasm = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

describe("onnxruntime-web in workerd", () => {
  it("needs the precompiled module: workerd refuses to compile wasm bytes", async () => {
    // workers-types omit the bytes overloads, because workerd rejects them; call through Reflect to show it does.
    const compileBytes = Reflect.get(WebAssembly, "compile") as (bytes: Uint8Array) => Promise<unknown>;
    await expect(compileBytes(emptyWasm)).rejects.toThrow();
  });

  it("runs the fp32 MTML-like net within 1e-4 of the TS forward", async () => {
    const session = await adapter.createSession(new Uint8Array(mtmlFp32File));
    expect(session.runtimeName).toBe("onnxruntime-web/workerd");
    for (const [batch, seed] of [[1, 1], [100, 3]] as const) {
      const input = randomMtmlBatch(mtmlParams, batch, seed);
      const out = await session.runWithShapes(mtmlFeeds(input));
      expect(out.probabilities!.dims).toEqual([batch, 7]);
      expect(maxAbsDiff(out.probabilities!.data, mtmlReferenceForward(mtmlParams, input))).toBeLessThan(1e-4);
    }
    await session.release();
    // the loader shim is gone once the runtime is up; other wasm instantiation is untouched
    expect(WebAssembly.instantiate).toBe(originalInstantiate);
  });

  it("runs the fp32 user tower (int32 ids, mean bag, L2-normalise) within 1e-4", async () => {
    const session = await adapter.createSession(new Uint8Array(towerFp32File));
    const input = randomTowerBatch(towerParams, 16, 5);
    const { embedding } = await session.run(towerFeeds(input));
    expect(maxAbsDiff(embedding!, towerReferenceForward(towerParams, input))).toBeLessThan(1e-4);
    await session.release();
  });

  it.each([
    ["mtml dynamic int8", mtmlDynamicFile, "mtml"],
    ["mtml qdq int8", mtmlQdqFile, "mtml"],
    ["tower dynamic int8", towerDynamicFile, "tower"],
    ["tower qdq int8", towerQdqFile, "tower"],
  ] as const)("runs %s close to the TS forward", async (_name, file, net) => {
    const session = await adapter.createSession(new Uint8Array(file));
    const info = readOnnxModelInfo(new Uint8Array(file));
    expect(info.metadataProps.quantization).toMatch(/int8/);
    let diff: number;
    if (net === "mtml") {
      const input = randomMtmlBatch(mtmlParams, 200, 21);
      diff = maxAbsDiff((await session.run(mtmlFeeds(input))).probabilities!, mtmlReferenceForward(mtmlParams, input));
      expect(diff).toBeLessThan(1e-2);
    } else {
      const input = randomTowerBatch(towerParams, 200, 22);
      diff = maxAbsDiff((await session.run(towerFeeds(input))).embedding!, towerReferenceForward(towerParams, input));
      // W8A32 holds 1e-2; activation-quantized (dynamic) tower is ~1.3e-2 (see test/node/onnx/quantize.test.ts).
      expect(diff).toBeLessThan(info.metadataProps.quantization!.startsWith("qdq") ? 1e-2 : 2.5e-2);
    }
    expect(diff).toBeGreaterThan(1e-5); // really quantized
    await session.release();
  });

  it("carries the feature spec hash in metadata_props", () => {
    expect(readOnnxModelInfo(new Uint8Array(mtmlFp32File)).metadataProps.feature_spec_hash).toBe("sha256:fixture-feature-spec-v1");
  });

  it("reports bad feeds and corrupt models as clear errors and keeps working", async () => {
    const session = await adapter.createSession(new Uint8Array(mtmlFp32File));
    const input = randomMtmlBatch(mtmlParams, 4, 8);
    const good = mtmlFeeds(input);
    await expect(session.run({ ...good, dense: float32Feed(new Float32Array(30), [3, 10]) })).rejects.toThrow(
      /onnxruntime-web\/workerd: invalid feeds: .*"batch"\) is 3, but "user_id" has batch=4/,
    );
    const { tag_mask: _mask, ...withoutMask } = good;
    await expect(session.run(withoutMask)).rejects.toThrow(/missing input "tag_mask"/);
    await expect(adapter.createSession(new Uint8Array([1, 2, 3, 4, 5]))).rejects.toThrow(/onnxruntime-web\/workerd: cannot load model: not a valid ONNX model/);
    await expect(adapter.createSession(new Uint8Array(mtmlFp32File).subarray(0, 5000))).rejects.toThrow(/cannot load model/);
    const { probabilities } = await session.run(good);
    expect(maxAbsDiff(probabilities!, mtmlReferenceForward(mtmlParams, input))).toBeLessThan(1e-4);
    await session.release();
  });
});
