// The session wrapper rejects bad feeds and bad model bytes with clear Errors, and keeps working afterwards.
import { describe, expect, it } from "vitest";
import { float32Feed, int32Feed, int64Feed } from "../../../core/inference/feeds";
import { readOnnxModelInfo } from "../../../core/inference/onnx-model-info";
import { createOnnxruntimeNodeAdapter } from "../../../scripts/onnx/ort-node";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import { OnnxGraphBuilder } from "../../../models/onnx/graph-builder";
import { buildMtmlOnnx } from "../../fixtures/onnx/build-nets";
import { maxAbsDiff, mtmlFeeds } from "../../fixtures/onnx/feeds";
import { makeMtmlParams, mtmlReferenceForward, randomMtmlBatch } from "../../fixtures/onnx/nets";

const params = makeMtmlParams();
const modelBytes = buildMtmlOnnx(params);
const input = randomMtmlBatch(params, 4, 77);
const good = mtmlFeeds(input);

describe.each([createNodeOrtWebAdapter(), createOnnxruntimeNodeAdapter()])("session wrapper on $name", (adapter) => {
  it("names every feed problem", async () => {
    const session = await adapter.createSession(modelBytes);
    const { dense: _dense, ...missingDense } = good;
    await expect(session.run(missingDense)).rejects.toThrow(/missing input "dense" \(float32 \[batch, 10\]\)/);
    await expect(session.run({ ...good, extra: float32Feed([1], [1]) })).rejects.toThrow(/unknown input "extra"/);
    await expect(session.run({ ...good, user_id: int32Feed([1, 2, 3, 4], [4]) })).rejects.toThrow(/input "user_id": type int32, model expects int64/);
    await expect(
      session.run({ ...good, dense: { type: "float32", data: new Float64Array(40) as unknown as Float32Array, dims: [4, 10] } }),
    ).rejects.toThrow(/data is Float64Array, type float32 needs Float32Array/);
    await expect(session.run({ ...good, dense: float32Feed(new Float32Array(40), [40]) })).rejects.toThrow(/rank 1 \[40\], model expects rank 2/);
    await expect(session.run({ ...good, dense: float32Feed(new Float32Array(44), [4, 11]) })).rejects.toThrow(/dim 1 is 11, model expects 10/);
    await expect(session.run({ ...good, dense: float32Feed(new Float32Array(30), [3, 10]) })).rejects.toThrow(/"batch"\) is 3, but "user_id" has batch=4/);
    await expect(session.run({ ...good, dense: float32Feed(new Float32Array(39), [4, 10]) })).rejects.toThrow(/need 40 elements, data has 39/);
    await expect(session.run({ ...good, dense: float32Feed(new Float32Array(40), [4, -10]) })).rejects.toThrow(/not a non-negative integer/);
    await expect(session.run(good, ["nope"])).rejects.toThrow(/unknown output "nope"/);
    // an id outside the embedding table is caught by the runtime and reported, not silently clamped
    await expect(session.run({ ...good, user_id: int64Feed([0, 1, 2, 5000], [4]) })).rejects.toThrow(new RegExp(`${adapter.name}: run failed: .*`));
    // the session still works after all of that
    const { probabilities } = await session.run(good);
    expect(maxAbsDiff(probabilities!, mtmlReferenceForward(params, input))).toBeLessThan(1e-4);
    await session.release();
    await expect(session.run(good)).rejects.toThrow(/session was released/);
  });

  it("serialises concurrent runs on one session", async () => {
    const session = await adapter.createSession(modelBytes);
    const batches = [1, 2, 3, 4, 5, 6].map((seed) => randomMtmlBatch(params, 8, seed));
    const results = await Promise.all(batches.map((b) => session.run(mtmlFeeds(b))));
    results.forEach((r, i) => expect(maxAbsDiff(r.probabilities!, mtmlReferenceForward(params, batches[i]!))).toBeLessThan(1e-4));
    await session.release();
  });

  it("rejects corrupt model buffers with a clear error and still loads good ones afterwards", async () => {
    const random = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
    await expect(adapter.createSession(new Uint8Array(0))).rejects.toThrow(`${adapter.name}: cannot load model: not a valid ONNX model: the buffer is empty`);
    await expect(adapter.createSession(random)).rejects.toThrow(/cannot load model: not a valid ONNX model/);
    await expect(adapter.createSession(modelBytes.slice(0, modelBytes.length - 1000))).rejects.toThrow(/cannot load model: not a valid ONNX model/);
    await expect(adapter.createSession(new TextEncoder().encode("<html>not found</html>"))).rejects.toThrow(/cannot load model/);
    // structurally valid protobuf but a broken graph: the runtime's own message is passed on
    const broken = modelBytes.slice();
    // NodeProto.op_type is field 4 (tag 0x22); its 6-byte value "MatMul" becomes "NoSuch".
    const opIndex = Buffer.from(broken).indexOf(Buffer.from([0x22, 0x06, ...new TextEncoder().encode("MatMul")]));
    expect(opIndex).toBeGreaterThan(0);
    broken.set(new TextEncoder().encode("NoSuch"), opIndex + 2);
    await expect(adapter.createSession(broken)).rejects.toThrow(new RegExp(`${adapter.name}: cannot load model: .*NoSuch`));
    const session = await adapter.createSession(modelBytes);
    expect(session.outputs.map((o) => o.name)).toEqual(["probabilities"]);
    await session.release();
  });
});

describe("session config carried in model metadata", () => {
  it("rejects a malformed onnxruntime.session_config entry before reaching the runtime", async () => {
    const g = new OnnxGraphBuilder("tiny");
    g.output(g.relu(g.input("x", "float32", ["batch", 2])), "float32", ["batch", 2]);
    const adapter = createNodeOrtWebAdapter();
    const bad = g.toBytes({ metadataProps: { "onnxruntime.session_config": "{not json" } });
    await expect(adapter.createSession(bad)).rejects.toThrow(/cannot load model: metadata "onnxruntime.session_config" is not JSON/);
    const good = new OnnxGraphBuilder("tiny");
    good.output(good.relu(good.input("x", "float32", ["batch", 2])), "float32", ["batch", 2]);
    const session = await adapter.createSession(good.toBytes({ metadataProps: { "onnxruntime.session_config": '{"session.disable_quant_qdq":"1"}' } }));
    expect(Array.from((await session.run({ x: float32Feed([-1, 2], [1, 2]) })).relu_0!)).toEqual([0, 2]);
  });
});

describe("readOnnxModelInfo", () => {
  it("reads header fields and rejects non-models", () => {
    const info = readOnnxModelInfo(modelBytes);
    expect(info.graphByteLength).toBeGreaterThan(100_000);
    expect(() => readOnnxModelInfo(new Uint8Array([0x08]))).toThrow(/ends inside a varint/);
    expect(() => readOnnxModelInfo(new Uint8Array([0x08, 0x08]))).toThrow(/no opset_import/);
  });
});
