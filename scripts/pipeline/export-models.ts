import { InsufficientDataError } from "../../core/data/errors";
import { LABELS } from "../../core/data/labels";
import { CONTEXT_CATEGORICAL_SLOTS, type MtmlInputs } from "../../core/features/mtml-features";
import type { ItemTowerInputs, UserTowerInputs } from "../../core/features/tower-features";
import type { OnnxRuntimeAdapter } from "../../core/inference/types";
import { itemTowerFeeds, runMtml, runTower, userTowerFeeds } from "../../core/serving/model-runs";
import type { FeatureSpec } from "../../core/features/spec";
import { noGrad, tidy } from "../../models/autodiff";
import { labelAucs, predictMtml } from "../../models/mtml/train";
import type { MtmlModel } from "../../models/mtml/model";
import { quantizeDynamicInt8, quantizeQdqInt8 } from "../../models/onnx/quantize";
import type { TwoTowerModel } from "../../models/two-tower/model";
import { takeMtmlRows } from "../../models/mtml/rows";

/** The largest |ONNX − TypeScript| allowed for an fp32 export (models/README.md: parity within 1e-4). */
export const PARITY_TOLERANCE = 1e-4;
/** A quantized MTML may lose at most this much AUC on any main label, and move no output more than 1e-2. */
export const MAX_QUANTIZATION_AUC_LOSS = 0.003;
export const MAX_QUANTIZATION_ABS_ERROR = 1e-2;

export interface QuantizationCandidate {
  readonly name: MtmlVariant;
  readonly bytes: Uint8Array;
  medianMs?: number;
  auc?: Record<string, number | null>;
  maxAbsError?: number;
  accepted?: boolean;
}

/** Runs the fp32 MTML export on `inputs` and fails unless it matches the TypeScript forward within tolerance. */
export async function checkMtmlParity(runtime: OnnxRuntimeAdapter, model: MtmlModel, bytes: Uint8Array, inputs: MtmlInputs): Promise<number> {
  const session = await runtime.createSession(bytes);
  try {
    const onnx = await runMtml(session, inputs);
    const ts = predictMtml(model, inputs);
    return assertClose("mtml", onnx, ts);
  } finally {
    await session.release();
  }
}

export async function checkTowerParity(runtime: OnnxRuntimeAdapter, model: TwoTowerModel, userBytes: Uint8Array, itemBytes: Uint8Array, users: UserTowerInputs, items: ItemTowerInputs): Promise<number> {
  const userSession = await runtime.createSession(userBytes);
  const itemSession = await runtime.createSession(itemBytes);
  try {
    const onnxUsers = await runTower(userSession, userTowerFeeds(users), users.size);
    const onnxItems = await runTower(itemSession, itemTowerFeeds(items), items.size);
    const tsUsers = tidy(() => noGrad(() => Float32Array.from(model.userForward(users).data)));
    const tsItems = tidy(() => noGrad(() => Float32Array.from(model.itemForward(items).data)));
    return Math.max(assertClose(`${model.name} user tower`, onnxUsers, tsUsers), assertClose(`${model.name} item tower`, onnxItems, tsItems));
  } finally {
    await userSession.release();
    await itemSession.release();
  }
}

function assertClose(what: string, actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) throw new Error(`${what}: ONNX gave ${actual.length} values, TypeScript ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  if (!(worst <= PARITY_TOLERANCE)) throw new Error(`${what}: the ONNX export differs from the TypeScript forward by ${worst} (> ${PARITY_TOLERANCE})`);
  return worst;
}

/**
 * Quantizes the MTML both ways, measures each variant on onnxruntime-web (the Worker's runtime) at a batch of
 * 100, and checks AUC and output error against fp32 on `check` rows. A variant is accepted when it stays
 * within MAX_QUANTIZATION_AUC_LOSS on click, long_view and like and within MAX_QUANTIZATION_ABS_ERROR.
 * The bundle serves `preferred` when accepted, else fp32: the choice is a setting (made from these
 * measurements, see models/README.md) rather than the winner of one noisy timing, so a seed always gives
 * the same bundle. The fastest accepted variant is reported beside it.
 */
export const MTML_VARIANTS = ["fp32", "dynamic-int8", "dynamic-int8-fp32-dense", "qdq-int8"] as const;
export type MtmlVariant = (typeof MTML_VARIANTS)[number];

/**
 * The MTML export in one variant. `fp32Nodes` are the input-layer matmuls the fp32-dense variant keeps in fp32;
 * `alwaysFp32Nodes` stay fp32 in every variant (the one-user model's batch-1 user projection).
 */
export function quantizeMtml(variant: MtmlVariant, fp32: Uint8Array, fp32Nodes: readonly string[], alwaysFp32Nodes: readonly string[] = []): Uint8Array {
  switch (variant) {
    case "fp32":
      return fp32;
    case "dynamic-int8":
      return quantizeDynamicInt8(fp32, { excludeNodes: [...alwaysFp32Nodes] }).bytes;
    // Standardised counters and embeddings need different activation scales: the dense half of the input layer stays fp32.
    case "dynamic-int8-fp32-dense":
      return quantizeDynamicInt8(fp32, { excludeNodes: [...fp32Nodes, ...alwaysFp32Nodes] }).bytes;
    case "qdq-int8":
      return quantizeQdqInt8(fp32, { excludeNodes: [...alwaysFp32Nodes] }).bytes;
  }
}

export async function measureMtmlVariants(runtime: OnnxRuntimeAdapter, spec: FeatureSpec, fp32: Uint8Array, denseInputNodes: readonly string[], preferred: MtmlVariant, check: { inputs: MtmlInputs; labels: Float32Array }, log: (line: string) => void, runs = 150): Promise<{ chosen: QuantizationCandidate; fastest: QuantizationCandidate; candidates: QuantizationCandidate[] }> {
  const candidates: QuantizationCandidate[] = MTML_VARIANTS.map((name) => ({ name, bytes: quantizeMtml(name, fp32, denseInputNodes) }));
  const sessions = await Promise.all(candidates.map((candidate) => runtime.createSession(candidate.bytes)));
  try {
    const outputs = await Promise.all(sessions.map((session) => runMtml(session, check.inputs)));
    const reference = outputs[0] as Float32Array;
    candidates.forEach((candidate, i) => {
      const output = outputs[i] as Float32Array;
      candidate.auc = labelAucs(output, check.labels);
      let worst = 0;
      for (let j = 0; j < Math.min(output.length, 1000 * LABELS.length); j++) worst = Math.max(worst, Math.abs((output[j] as number) - (reference[j] as number)));
      candidate.maxAbsError = worst;
    });
    const batch = takeMtmlRows(spec, check.inputs, Int32Array.from({ length: Math.min(100, check.inputs.size) }, (_, i) => i));
    const timings: number[][] = candidates.map(() => []);
    for (let warm = 0; warm < 20; warm++) for (const session of sessions) await runMtml(session, batch);
    // interleave the variants so machine noise hits them alike
    for (let run = 0; run < runs; run++) {
      for (let c = 0; c < sessions.length; c++) {
        const started = performance.now();
        await runMtml(sessions[c] as (typeof sessions)[number], batch);
        (timings[c] as number[]).push(performance.now() - started);
      }
    }
    candidates.forEach((candidate, c) => (candidate.medianMs = median(timings[c] as number[])));
  } finally {
    await Promise.all(sessions.map((session) => session.release()));
  }
  const fp32Auc = candidates[0]?.auc ?? {};
  for (const candidate of candidates) {
    const aucLoss = Math.max(...(["click", "long_view", "like"] as const).map((label) => ((fp32Auc[label] ?? 0) as number) - ((candidate.auc?.[label] ?? 0) as number)));
    candidate.accepted = candidate.name === "fp32" || (aucLoss <= MAX_QUANTIZATION_AUC_LOSS && (candidate.maxAbsError ?? Infinity) <= MAX_QUANTIZATION_ABS_ERROR);
    log(`  mtml ${candidate.name}: ${(candidate.bytes.byteLength / 1024).toFixed(0)} KB, ${candidate.medianMs?.toFixed(3)} ms per batch of 100 on onnxruntime-web, AUC loss ${aucLoss.toFixed(4)}, max |Δp| ${candidate.maxAbsError?.toExponential(2)}${candidate.accepted ? "" : " (rejected)"}`);
  }
  const fastest = candidates.filter((candidate) => candidate.accepted).sort((a, b) => (a.medianMs ?? Infinity) - (b.medianMs ?? Infinity))[0] as QuantizationCandidate;
  const wanted = candidates.find((candidate) => candidate.name === preferred);
  if (!wanted?.accepted) log(`  mtml: the preferred variant ${preferred} failed the accuracy check; serving fp32`);
  const chosen = wanted?.accepted ? wanted : (candidates[0] as QuantizationCandidate);
  return { chosen, fastest, candidates };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export interface OneUserMtml {
  readonly bytes: Uint8Array;
  /** Largest |ONNX − TypeScript| of the fp32 one-user export on one-user batches. */
  readonly parityMaxAbs: number;
  /** Largest |Δp| between the served per-row model and the served one-user variant on the same batches. */
  readonly maxAbsErrorVsServed: number;
  readonly medianMs: number;
  readonly perRowMedianMs: number;
}

/**
 * The one-user serving variant of the MTML (`MtmlModel.toOnnx(…, "one-user")`), in the served variant's
 * quantization with the user's projection kept fp32. Checked on batches built from the check rows, each
 * row given its batch's first user (which is what a feed sends): the fp32 export against the TypeScript
 * forward within the parity tolerance, the served one-user model against the served per-row one within
 * MAX_QUANTIZATION_ABS_ERROR; then both are timed on onnxruntime-web at a batch of 100, interleaved.
 * Undefined for an MMoE, whose gates read the whole input row.
 */
export async function buildOneUserMtml(runtime: OnnxRuntimeAdapter, model: MtmlModel, metadata: Record<string, string>, served: { variant: MtmlVariant; bytes: Uint8Array }, fp32Nodes: readonly string[], check: MtmlInputs, runs = 150): Promise<OneUserMtml | undefined> {
  // MMoE gates read the whole row; and a data set without user features (and a model without a user id) leaves
  // nothing to project once per user
  if (model.gates.length > 0 || model.userSideWidth === 0) return undefined;
  const fp32 = model.toOnnx(metadata, "one-user");
  // batches of 100 rows (fewer on a small data set's check rows), each made one user's by oneUserBatch
  const batchSize = Math.min(100, check.size);
  if (batchSize === 0) throw new InsufficientDataError("the MTML one-user check", "at least one held-out impression", "none");
  const batches = Array.from({ length: Math.min(10, Math.floor(check.size / batchSize)) }, (_, b) => oneUserBatch(model.spec, check, b * batchSize, batchSize));
  let parityMaxAbs = 0;
  for (const batch of batches) parityMaxAbs = Math.max(parityMaxAbs, await checkMtmlParity(runtime, model, fp32, batch));
  const userNodes = model.experts.map((expert) => `${expert.layers[0]?.name}.user/MatMul`);
  const bytes = quantizeMtml(served.variant, fp32, fp32Nodes, userNodes);
  const [oneUser, perRow] = await Promise.all([runtime.createSession(bytes), runtime.createSession(served.bytes)]);
  try {
    let maxAbsErrorVsServed = 0;
    for (const batch of batches) {
      const [a, b] = await Promise.all([runMtml(oneUser, batch), runMtml(perRow, batch)]);
      for (let i = 0; i < a.length; i++) maxAbsErrorVsServed = Math.max(maxAbsErrorVsServed, Math.abs((a[i] as number) - (b[i] as number)));
    }
    if (!(maxAbsErrorVsServed <= MAX_QUANTIZATION_ABS_ERROR)) throw new Error(`mtml one-user variant: differs from the served model by ${maxAbsErrorVsServed} (> ${MAX_QUANTIZATION_ABS_ERROR})`);
    const timings: [number[], number[]] = [[], []];
    for (let run = 0; run < runs + 20; run++) {
      const batch = batches[run % batches.length] as MtmlInputs;
      for (const [s, session] of [oneUser, perRow].entries()) {
        const started = performance.now();
        await runMtml(session, batch);
        if (run >= 20) timings[s]?.push(performance.now() - started);
      }
    }
    return { bytes, parityMaxAbs, maxAbsErrorVsServed, medianMs: median(timings[0]), perRowMedianMs: median(timings[1]) };
  } finally {
    await Promise.all([oneUser.release(), perRow.release()]);
  }
}

/** Rows [start, start + size) of `inputs`, each with row `start`'s user id and user categorical slots. */
export function oneUserBatch(spec: FeatureSpec, inputs: MtmlInputs, start: number, size: number): MtmlInputs {
  const batch = takeMtmlRows(spec, inputs, Int32Array.from({ length: size }, (_, i) => start + i));
  const slots = spec.categorical.length;
  const userSlots = batch.categorical.slice(CONTEXT_CATEGORICAL_SLOTS.length, slots);
  for (let r = 1; r < size; r++) {
    batch.user[r] = batch.user[0] as number;
    batch.categorical.set(userSlots, r * slots + CONTEXT_CATEGORICAL_SLOTS.length);
  }
  return batch;
}
