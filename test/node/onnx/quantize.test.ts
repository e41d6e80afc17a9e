// int8 variants stay within 1e-2 absolute of the fp32 model on 1,000 random inputs (Xavier-initialised weights).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Feeds, OnnxRuntimeAdapter } from "../../../core/inference/types";
import { readOnnxModelInfo } from "../../../core/inference/onnx-model-info";
import { calibrateActivationRanges } from "../../../models/onnx/calibrate";
import { decodeModel } from "../../../models/onnx/graph-builder";
import {
  quantizeDynamicInt8,
  quantizeQdqInt8,
  quantizeRowsInt8,
  quantizeSymmetricInt8,
  type ActivationRange,
} from "../../../models/onnx/quantize";
import { createOnnxruntimeNodeAdapter } from "../../../scripts/onnx/ort-node";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import { buildMtmlOnnx, buildTowerOnnx } from "../../fixtures/onnx/build-nets";
import { maxAbsDiff, mtmlFeeds, towerFeeds } from "../../fixtures/onnx/feeds";
import { makeMtmlParams, makeTowerParams, mulberry32, randomMtmlBatch, randomTowerBatch } from "../../fixtures/onnx/nets";

const web = createNodeOrtWebAdapter();
const node = createOnnxruntimeNodeAdapter();
const mtmlParams = makeMtmlParams();
const towerParams = makeTowerParams();
const nets = {
  mtml: { fp32: buildMtmlOnnx(mtmlParams), output: "probabilities", feeds: mtmlFeeds(randomMtmlBatch(mtmlParams, 1000, 1234)) },
  tower: { fp32: buildTowerOnnx(towerParams), output: "embedding", feeds: towerFeeds(randomTowerBatch(towerParams, 1000, 4321)) },
};
type NetName = keyof typeof nets;

async function runOnce(adapter: OnnxRuntimeAdapter, bytes: Uint8Array, feeds: Feeds, output: string): Promise<Float32Array> {
  const session = await adapter.createSession(bytes);
  try {
    return (await session.run(feeds, [output]))[output]!;
  } finally {
    await session.release();
  }
}

const calibrationCache = new Map<NetName, Promise<Record<string, ActivationRange>>>();
function calibration(net: NetName): Promise<Record<string, ActivationRange>> {
  let ranges = calibrationCache.get(net);
  if (ranges === undefined) {
    // 4,000 calibration examples, disjoint from the evaluation batch (a few hundred clip the activation tails).
    const batches =
      net === "mtml"
        ? [0, 1, 2, 3].map((s) => mtmlFeeds(randomMtmlBatch(mtmlParams, 1000, 50 + s)))
        : [0, 1, 2, 3].map((s) => towerFeeds(randomTowerBatch(towerParams, 1000, 60 + s)));
    ranges = calibrateActivationRanges(nets[net].fp32, web, batches);
    calibrationCache.set(net, ranges);
  }
  return ranges;
}

interface Variant {
  readonly name: string;
  readonly make: (fp32: Uint8Array, net: NetName) => Promise<Uint8Array>;
  /** Also held to the bound on onnxruntime-node (see below). */
  readonly nodeSafe: boolean;
}
const variants: Variant[] = [
  { name: "dynamic int8 per-channel", nodeSafe: false, make: async (m) => quantizeDynamicInt8(m).bytes },
  { name: "dynamic int8 per-tensor", nodeSafe: false, make: async (m) => quantizeDynamicInt8(m, { perChannel: false }).bytes },
  { name: "dynamic uint8", nodeSafe: true, make: async (m) => quantizeDynamicInt8(m, { weightType: "uint8" }).bytes },
  { name: "dynamic int8 reduce-range", nodeSafe: true, make: async (m) => quantizeDynamicInt8(m, { reduceRange: true }).bytes },
  { name: "dynamic int8 + int8 embeddings", nodeSafe: false, make: async (m) => quantizeDynamicInt8(m, { embeddingsPerRow: true }).bytes },
  { name: "qdq w8a32 per-channel", nodeSafe: true, make: async (m) => quantizeQdqInt8(m).bytes },
  { name: "qdq w8a32 + int8 embeddings", nodeSafe: true, make: async (m) => quantizeQdqInt8(m, { embeddingsPerRow: true }).bytes },
  {
    name: "qdq w8a8 calibrated reduce-range",
    nodeSafe: true,
    make: async (m, net) => quantizeQdqInt8(m, { activationRanges: await calibration(net), reduceRange: true }).bytes,
  },
];
// onnxruntime-node's x64 u8·s8 integer GEMM saturates with full-range int8 weights (see reduceRange: up to ~8e-2
// here), so on that runtime only the variants that avoid it are checked.

// The tower's first layer reads the raw feature concat (embeddings ~0.2 next to dense features in [-1, 1]); 8-bit
// activation quantization of that input costs ~1.2-1.4e-2 on the unit-norm output components. Keeping that one
// layer in float32 (excludeNodes) brings the activation-quantized variants back under 1e-2; with it quantized they are
// checked against a documented looser bound plus per-row cosine similarity instead.
const towerInputLayer = ["hidden/MatMul"];
const towerVariants: Variant[] = [
  { name: "qdq w8a32 per-channel", nodeSafe: true, make: async (m) => quantizeQdqInt8(m).bytes },
  { name: "qdq w8a32 + int8 embeddings", nodeSafe: true, make: async (m) => quantizeQdqInt8(m, { embeddingsPerRow: true }).bytes },
  { name: "dynamic int8, input layer fp32", nodeSafe: false, make: async (m) => quantizeDynamicInt8(m, { excludeNodes: towerInputLayer }).bytes },
  {
    name: "dynamic uint8, input layer fp32",
    nodeSafe: true,
    make: async (m) => quantizeDynamicInt8(m, { weightType: "uint8", excludeNodes: towerInputLayer }).bytes,
  },
  {
    name: "qdq w8a8 calibrated reduce-range, input layer fp32",
    nodeSafe: true,
    make: async (m, net) =>
      quantizeQdqInt8(m, { activationRanges: await calibration(net), reduceRange: true, excludeNodes: towerInputLayer }).bytes,
  },
];
const towerLooseVariants: Variant[] = [
  { name: "dynamic int8 all layers", nodeSafe: false, make: async (m) => quantizeDynamicInt8(m, { embeddingsPerRow: true }).bytes },
  {
    name: "qdq w8a8 calibrated all layers",
    nodeSafe: true,
    make: async (m, net) => quantizeQdqInt8(m, { activationRanges: await calibration(net), reduceRange: true }).bytes,
  },
];

function minRowCosine(a: Float32Array, b: Float32Array, dim: number): number {
  let min = 1;
  for (let row = 0; row < a.length / dim; row++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let d = row * dim; d < (row + 1) * dim; d++) {
      dot += a[d]! * b[d]!;
      na += a[d]! * a[d]!;
      nb += b[d]! * b[d]!;
    }
    min = Math.min(min, dot / Math.sqrt(na * nb));
  }
  return min;
}

describe.each([
  ["mtml", variants],
  ["tower", towerVariants],
] as const)("int8 accuracy, %s net, 1,000 inputs", (net, netVariants) => {
  const { fp32, output, feeds } = nets[net];
  const references = new Map<string, Promise<Float32Array>>();
  const reference = (adapter: OnnxRuntimeAdapter) => {
    if (!references.has(adapter.name)) references.set(adapter.name, runOnce(adapter, fp32, feeds, output));
    return references.get(adapter.name)!;
  };

  it.each(netVariants)("$name on onnxruntime-web is within 1e-2 of fp32", async ({ make }) => {
    const quantized = await make(fp32, net);
    expect(quantized.byteLength).toBeLessThan(fp32.byteLength);
    const diff = maxAbsDiff(await runOnce(web, quantized, feeds, output), await reference(web));
    expect(diff).toBeLessThan(1e-2);
    expect(diff).toBeGreaterThan(0); // it really is a different (quantized) model
  });

  it.each(netVariants.filter((v) => v.nodeSafe))("$name on onnxruntime-node is within 1e-2 of fp32", async ({ make }) => {
    const quantized = await make(fp32, net);
    expect(maxAbsDiff(await runOnce(node, quantized, feeds, output), await reference(node))).toBeLessThan(1e-2);
  });
});

describe("int8 accuracy, tower net, every layer activation-quantized (looser bound)", () => {
  const { fp32, output, feeds } = nets.tower;
  it.each(towerLooseVariants)("$name on onnxruntime-web: max abs < 2.5e-2, row cosine > 0.999", async ({ make }) => {
    const reference = await runOnce(web, fp32, feeds, output);
    const quantized = await runOnce(web, await make(fp32, "tower"), feeds, output);
    expect(maxAbsDiff(quantized, reference)).toBeLessThan(2.5e-2);
    expect(minRowCosine(quantized, reference, 32)).toBeGreaterThan(0.999);
  });
});

describe("quantized graph structure", () => {
  const fp32 = nets.mtml.fp32;
  const opTypes = (bytes: Uint8Array) => decodeModel(bytes).graph!.node!.map((n) => n.opType);

  it("dynamic: DynamicQuantizeLinear + MatMulInteger + Cast + Mul replace every constant MatMul", () => {
    const { bytes, report } = quantizeDynamicInt8(fp32);
    expect(report.quantizedMatMuls).toHaveLength(3);
    const ops = opTypes(bytes);
    expect(ops).not.toContain("MatMul");
    expect(ops.filter((o) => o === "DynamicQuantizeLinear")).toHaveLength(3);
    expect(ops.filter((o) => o === "MatMulInteger")).toHaveLength(3);
    const graph = decodeModel(bytes).graph!;
    expect(graph.initializer!.some((t) => t.name === "hidden1.weight")).toBe(false); // fp32 weight dropped
    const weight = graph.initializer!.find((t) => t.name === "hidden1.weight_quantized")!;
    expect(weight.dataType).toBe(3); // INT8
    expect(readOnnxModelInfo(bytes).metadataProps.quantization).toBe("dynamic-int8-per-channel");
    expect(readOnnxModelInfo(bytes).metadataProps.feature_spec_hash).toBeDefined();
  });

  it("qdq: int8 weights through DequantizeLinear(axis=1) with one scale per output column", () => {
    const { bytes } = quantizeQdqInt8(fp32);
    const graph = decodeModel(bytes).graph!;
    const dequantize = graph.node!.filter((n) => n.opType === "DequantizeLinear");
    expect(dequantize).toHaveLength(3);
    expect(Number(dequantize[0]!.attribute!.find((a) => a.name === "axis")!.i)).toBe(1);
    const scale = graph.initializer!.find((t) => t.name === "hidden1.weight_scale")!;
    expect(scale.dims!.map(Number)).toEqual([128]);
    expect(opTypes(bytes).filter((o) => o === "MatMul")).toHaveLength(3);
  });

  it("w8a32 models ask ORT (via metadata) to fold DequantizeLinear at load, giving the fp32 graph", async () => {
    const { bytes } = quantizeQdqInt8(fp32);
    expect(readOnnxModelInfo(bytes).metadataProps["onnxruntime.session_config"]).toBe('{"session.disable_quant_qdq":"1"}');
    const directory = mkdtempSync(join(tmpdir(), "onnx-fold-"));
    try {
      const optimizedOps = async (model: Uint8Array, name: string) => {
        const path = join(directory, name);
        await (await createOnnxruntimeNodeAdapter({ optimizedModelFilePath: path }).createSession(model)).release();
        return opTypes(new Uint8Array(readFileSync(path)));
      };
      expect(await optimizedOps(bytes, "folded.onnx")).not.toContain("DequantizeLinear");
      expect(await optimizedOps(bytes, "folded.onnx")).toEqual(await optimizedOps(fp32, "fp32.onnx"));
      const unfolded = quantizeQdqInt8(fp32, { foldWeightsAtLoad: false }).bytes;
      expect(await optimizedOps(unfolded, "unfolded.onnx")).toContain("DequantizeLinear");
      // W8A8 keeps its QDQ pairs so ORT can fuse them into integer kernels
      const w8a8 = quantizeQdqInt8(fp32, { activationRanges: await calibration("mtml") }).bytes;
      expect(readOnnxModelInfo(w8a8).metadataProps["onnxruntime.session_config"]).toBeUndefined();
      expect(await optimizedOps(w8a8, "w8a8.onnx")).toContain("QGemm");
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("per-row embedding quantization shrinks the file by more than half", () => {
    const { bytes, report } = quantizeQdqInt8(fp32, { embeddingsPerRow: true });
    expect(report.quantizedEmbeddings).toEqual(["user_emb.weight", "item_emb.weight", "author_emb.weight", "tag_emb.weight"]);
    expect(bytes.byteLength).toBeLessThan(fp32.byteLength / 2);
  });

  it("quantization math: round-trip error at most half a step", () => {
    const random = mulberry32(3);
    const weight = Float32Array.from({ length: 40 * 12 }, () => random() * 2 - 1);
    const { q, scales } = quantizeSymmetricInt8(weight, 40, 12, true);
    for (let i = 0; i < weight.length; i++) {
      const scale = scales[i % 12]!;
      expect(Math.abs(q[i]! * scale - weight[i]!)).toBeLessThanOrEqual(scale / 2 + 1e-7);
    }
    const rows = quantizeRowsInt8(weight, 40, 12);
    expect(rows.scales).toHaveLength(40);
    expect(Math.max(...Array.from(rows.q, Math.abs))).toBe(127);
  });
});
