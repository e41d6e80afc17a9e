// The int8 variants of the MTML the pipeline can serve stay close to fp32 on onnxruntime-web (the Worker's runtime):
// within 1e-2 absolute on 1,000 random pairs, and within 0.003 AUC on labels drawn from the fp32 model itself.
import { beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../../core/data/labels";
import type { MtmlInputs } from "../../../core/features/mtml-features";
import { readOnnxModelInfo } from "../../../core/inference/onnx-model-info";
import { runMtml } from "../../../core/serving/model-runs";
import { Rng } from "../../../models/autodiff";
import { DEFAULT_MTML_ARCHITECTURE, MtmlModel, type MtmlArchitecture } from "../../../models/mtml/model";
import { labelAucs } from "../../../models/mtml/train";
import { decodeModel } from "../../../models/onnx/graph-builder";
import { quantizeDynamicInt8, quantizeQdqInt8 } from "../../../models/onnx/quantize";
import { DEFAULT_SYNTHETIC_OPTIONS } from "../../../scripts/models/synthetic-kuairand";
import { buildTinyTraining, randomMtmlInputs, trainMtmlSteps, type TinyTraining } from "../../../scripts/models/tiny-models";
import { createNodeOrtWebAdapter } from "../../../scripts/onnx/ort-web-node";
import { MAX_QUANTIZATION_ABS_ERROR, MAX_QUANTIZATION_AUC_LOSS } from "../../../scripts/pipeline/export-models";
import { maxAbsDiff } from "./helpers";

const runtime = createNodeOrtWebAdapter();
let training: TinyTraining;

beforeAll(async () => {
  // the default synthetic set (300 users, 240 items, 4 days) and the default fit options, as the pipeline uses them
  training = await buildTinyTraining(DEFAULT_SYNTHETIC_OPTIONS, {});
});

/** The nodes the pipeline keeps in fp32 for "dynamic-int8-fp32-dense" (scripts/pipeline.ts). */
function denseInputNodes(model: MtmlModel): string[] {
  return model.experts.map((expert) => `${expert.layers[0]?.name}.dense/MatMul`);
}

function nodeOps(bytes: Uint8Array): Map<string, string> {
  return new Map((decodeModel(bytes).graph?.node ?? []).map((node) => [node.name ?? "", node.opType ?? ""]));
}

/** One 0/1 label per (row, label), drawn with probability = the fp32 model's own prediction. */
function sampleLabels(probabilities: Float32Array, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from(probabilities, (p) => (rng.uniform() < p ? 1 : 0));
}

describe.each([
  ["the default architecture (what the pipeline ships)", DEFAULT_MTML_ARCHITECTURE],
  ["an MMoE with 3 experts", { ...DEFAULT_MTML_ARCHITECTURE, experts: 3 } satisfies MtmlArchitecture],
])("quantized MTML, %s", (name, architecture) => {
  let model: MtmlModel;
  let fp32: Uint8Array;
  let pairs: MtmlInputs;
  let labelled: MtmlInputs;
  let fp32Pairs: Float32Array;
  let fp32Labelled: Float32Array;
  let labels: Float32Array;

  beforeAll(async () => {
    model = new MtmlModel(training.spec, architecture, new Rng(21));
    trainMtmlSteps(model, training, 40, 21);
    fp32 = model.toOnnx({});
    pairs = randomMtmlInputs(training, 1000, 31);
    labelled = randomMtmlInputs(training, 5000, 32);
    const session = await runtime.createSession(fp32);
    fp32Pairs = await runMtml(session, pairs);
    fp32Labelled = await runMtml(session, labelled);
    await session.release();
    labels = sampleLabels(fp32Labelled, 33);
  });

  const variants: [string, (m: MtmlModel, bytes: Uint8Array) => Uint8Array][] = [
    ["dynamic-int8", (_m, bytes) => quantizeDynamicInt8(bytes).bytes],
    ["dynamic-int8-fp32-dense", (m, bytes) => quantizeDynamicInt8(bytes, { excludeNodes: denseInputNodes(m) }).bytes],
    ["qdq-int8", (_m, bytes) => quantizeQdqInt8(bytes).bytes],
  ];

  it.each(variants)("%s: within 1e-2 of fp32 on 1,000 pairs and within 0.003 AUC on every label", async (variant, quantize) => {
    const bytes = quantize(model, fp32);
    expect(readOnnxModelInfo(bytes).metadataProps.quantization).toMatch(/int8/);
    expect(bytes.byteLength).toBeLessThan(fp32.byteLength);
    const session = await runtime.createSession(bytes);
    const quantizedPairs = await runMtml(session, pairs);
    const error = maxAbsDiff(quantizedPairs, fp32Pairs);
    expect(error).toBeLessThanOrEqual(MAX_QUANTIZATION_ABS_ERROR);
    expect(MAX_QUANTIZATION_ABS_ERROR).toBe(1e-2);
    expect(error).toBeGreaterThan(1e-6); // really quantized

    const fp32Auc = labelAucs(fp32Labelled, labels);
    const quantizedAuc = labelAucs(await runMtml(session, labelled), labels);
    for (const label of LABELS) {
      const reference = fp32Auc[label];
      // labels come from the model's probabilities, so every label has positives and the AUC says something
      expect(reference, label).not.toBeNull();
      expect(reference!, label).toBeGreaterThan(0.52);
      expect(Math.abs((quantizedAuc[label] as number) - reference!), `${variant} ${label}`).toBeLessThanOrEqual(MAX_QUANTIZATION_AUC_LOSS);
    }
    expect(MAX_QUANTIZATION_AUC_LOSS).toBe(0.003);
    // MODELS_REPORT=1 npx vitest run test/node/models/quantization.test.ts prints the measured numbers
    if (process.env.MODELS_REPORT) console.log(`${name}, ${variant}: max |Δp| ${error.toExponential(2)}; fp32 AUC / Δ: ${LABELS.map((l) => `${l} ${fp32Auc[l]!.toFixed(3)}/${((quantizedAuc[l] as number) - fp32Auc[l]!).toExponential(1)}`).join(", ")}`);
    await session.release();
  });

  it("dynamic-int8-fp32-dense keeps exactly the dense half of the input layer in fp32", () => {
    const all = nodeOps(quantizeDynamicInt8(fp32).bytes);
    const excluded = nodeOps(quantizeDynamicInt8(fp32, { excludeNodes: denseInputNodes(model) }).bytes);
    for (const expert of model.experts) {
      const input = expert.layers[0]!.name;
      expect(all.has(`${input}.dense/MatMul`)).toBe(false); // quantized away
      expect(excluded.get(`${input}.dense/MatMul`)).toBe("MatMul");
      expect(excluded.has(`${input}.embeddings/MatMul`)).toBe(false);
    }
    expect([...excluded.values()].filter((op) => op === "MatMulInteger").length).toBe([...all.values()].filter((op) => op === "MatMulInteger").length - model.experts.length);
  });
});
