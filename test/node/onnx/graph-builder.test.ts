import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readOnnxModelInfo } from "../../../core/inference/onnx-model-info";
import { OnnxGraphBuilder, decodeModel, floatAttr } from "../../../models/onnx/graph-builder";
import { ONNX_IR_VERSION, ONNX_OPSET } from "../../../models/onnx/onnx-proto";
import { FIXTURE_FEATURE_SPEC_HASH, buildFixtureFiles, buildMtmlOnnx } from "../../fixtures/onnx/build-nets";
import { makeMtmlParams } from "../../fixtures/onnx/nets";

const fixtureDirectory = fileURLToPath(new URL("../../fixtures/onnx/", import.meta.url));

describe("ONNX graph builder", () => {
  it("reproduces every committed fixture byte-for-byte (regenerate: npx tsx scripts/onnx/write-fixtures.ts)", () => {
    const files = buildFixtureFiles();
    expect(Object.keys(files).length).toBeGreaterThanOrEqual(6);
    for (const [name, bytes] of Object.entries(files)) {
      const committed = new Uint8Array(readFileSync(fixtureDirectory + name));
      expect(committed.byteLength, name).toBe(bytes.byteLength);
      expect(Buffer.compare(Buffer.from(committed), Buffer.from(bytes)), `${name} differs from the builder output`).toBe(0);
    }
  });

  it("is deterministic and sensitive to the weights", () => {
    const a = buildMtmlOnnx(makeMtmlParams(7));
    const b = buildMtmlOnnx(makeMtmlParams(7));
    const c = buildMtmlOnnx(makeMtmlParams(8));
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(c))).not.toBe(0);
  });

  it("writes IR version, opset, producer and metadata_props that both readers see", () => {
    const bytes = buildMtmlOnnx(makeMtmlParams());
    const info = readOnnxModelInfo(bytes);
    expect(info.irVersion).toBe(ONNX_IR_VERSION);
    expect(info.opsets[""]).toBe(ONNX_OPSET);
    expect(info.producerName).toBe("explore-edge-ranker");
    expect(info.producerVersion).toBe("test");
    expect(info.metadataProps.feature_spec_hash).toBe(FIXTURE_FEATURE_SPEC_HASH);
    expect(info.metadataProps.heads).toBe("click,long_view,like,comment,forward,follow,hate");

    const model = decodeModel(bytes);
    const graph = model.graph!;
    expect(graph.input!.map((i) => i.name)).toEqual(["user_id", "item_id", "author_id", "tag_ids", "tag_mask", "dense"]);
    expect(graph.output!.map((o) => o.name)).toEqual(["probabilities"]);
    const batchDim = graph.input![0]!.type!.tensorType!.shape!.dim![0]!;
    expect(batchDim.dimParam).toBe("batch");
    const ops = new Set(graph.node!.map((n) => n.opType));
    for (const op of ["Gather", "Unsqueeze", "Mul", "ReduceSum", "Concat", "MatMul", "Add", "Relu", "Sigmoid"]) expect(ops).toContain(op);
  });

  it("encodes attributes with the right types", () => {
    const g = new OnnxGraphBuilder("attrs");
    const x = g.input("x", "float32", ["batch", 4]);
    const [y] = g.node("LeakyRelu", [x], ["y"], { attributes: { alpha: floatAttr(0.25) } });
    g.softmax(y!, 1);
    g.output(y!, "float32", ["batch", 4]);
    const node = decodeModel(g.toBytes()).graph!.node!;
    expect(node[0]!.attribute![0]!.f).toBeCloseTo(0.25);
    expect(node[1]!.attribute![0]!.name).toBe("axis");
    expect(Number(node[1]!.attribute![0]!.i)).toBe(1);
  });

  it("rejects inconsistent graphs with clear errors", () => {
    const g = new OnnxGraphBuilder("bad");
    g.input("x", "float32", ["batch", 2]);
    expect(() => g.input("x", "float32", [1])).toThrow(/"x" is already used/);
    expect(() => g.float32("w", new Float32Array(5), [2, 3])).toThrow(/5 values do not fill dims \[2, 3\]/);
    expect(() => g.output("nowhere", "float32", [1])).toThrow(/not produced/);
    expect(() => g.node("Foo", ["x"], 1, { attributes: { alpha: 0.5 } })).toThrow(/not an integer; use floatAttr/);
    expect(() => new OnnxGraphBuilder("empty").toBytes()).toThrow(/has no outputs/);
  });
});
