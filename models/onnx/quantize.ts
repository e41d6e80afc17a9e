// Post-training int8 quantization as graph transforms of an fp32 model (bytes in, bytes out; the fp32 file is kept).
//
// (a) quantizeDynamicInt8 — like onnxruntime's quantize_dynamic: every MatMul whose B is a constant [K, N] becomes
//     DynamicQuantizeLinear(A) -> MatMulInteger(A_u8, W_q, A_zp, W_zp) -> Cast(float) -> Mul(A_scale * W_scale).
//     ORT's optimiser fuses the pattern to MatMulIntegerToFloat / DynamicQuantizeMatMul (com.microsoft) on CPU and in
//     the ORT-web wasm build. Weights int8 symmetric (default) or uint8 asymmetric; per-tensor or per-column.
// (b) quantizeQdqInt8 — QDQ format: constant B becomes DequantizeLinear(W_int8, scale[N], zp[N]=0, axis=1) feeding
//     the unchanged MatMul ("W8A32"). With `activationRanges` (from calibration) the MatMul input A also gets a
//     QuantizeLinear/DequantizeLinear pair (uint8), which ORT can fuse into an integer MatMul.
// Both can additionally quantize embedding tables per row: Gather(table int8) -> Cast -> Mul(Gather(row scales)).
import { SESSION_CONFIG_METADATA_KEY } from "../../core/inference/ort-session";
import { decodeModel, encodeModel } from "./graph-builder";
import { GraphEditor, intAttribute, readFloat32Initializer } from "./graph-edit";
import type { onnx } from "./onnx-proto";

export interface EmbeddingQuantizationOptions {
  /** Quantize float32 [V, D] Gather tables (axis 0) to int8 with one scale per row. Default false. */
  readonly embeddingsPerRow?: boolean;
  /** Only tensors with at least this many elements are quantized (default 256). */
  readonly minElements?: number;
  /** Node names to keep in float32, e.g. ["hidden1/MatMul"] (the builder names dense layers "<layer>/MatMul"). */
  readonly excludeNodes?: readonly string[];
}

export interface DynamicQuantizationOptions extends EmbeddingQuantizationOptions {
  /** int8 symmetric weights (zero point 0) or uint8 asymmetric weights. Default "int8". */
  readonly weightType?: "int8" | "uint8";
  /** One scale (and zero point) per output column instead of per tensor. Default true. */
  readonly perChannel?: boolean;
  /**
   * int8 weights use 7 bits (±63). onnxruntime-node's x64 u8·s8 kernels (AVX2 VPMADDUBSW) saturate int16 pair sums,
   * which costs up to ~8e-2 absolute error on sigmoid outputs with full-range weights; ORT-web's wasm kernels do not.
   * Default false (ORT-web is the serving runtime); set it, or use weightType "uint8", for ORT-node parity.
   */
  readonly reduceRange?: boolean;
}

export interface ActivationRange {
  readonly min: number;
  readonly max: number;
}

export interface QdqQuantizationOptions extends EmbeddingQuantizationOptions {
  /** One scale per output column (axis=1) instead of per tensor. Default true. */
  readonly perChannel?: boolean;
  /**
   * Calibrated ranges of MatMul inputs (by tensor name). MatMuls whose input has a range get QDQ on the activation
   * too (uint8 asymmetric); the others stay weight-only.
   */
  readonly activationRanges?: Readonly<Record<string, ActivationRange>>;
  /** 7-bit int8 weights (see DynamicQuantizationOptions.reduceRange); only matters with activationRanges. */
  readonly reduceRange?: boolean;
  /**
   * Weight-only (W8A32) models: record {"session.disable_quant_qdq":"1"} in metadata_props under
   * "onnxruntime.session_config" (applied by core/inference's ORT adapter), so ORT constant-folds the
   * DequantizeLinear weights at load: int8 on disk / in the bundle, fp32 speed at run time. Without it ORT keeps the
   * DequantizeLinear nodes and dequantizes every run (~10-20% slower than fp32). Default true; ignored for W8A8,
   * whose QDQ pairs must stay for ORT to fuse them into integer kernels.
   */
  readonly foldWeightsAtLoad?: boolean;
}

export interface QuantizationReport {
  readonly quantizedMatMuls: readonly string[];
  readonly quantizedEmbeddings: readonly string[];
  readonly skipped: readonly string[];
}

/** Symmetric int8 quantization of a [K, N] matrix, per column (N scales) or per tensor (1 scale). */
export function quantizeSymmetricInt8(
  weight: Float32Array,
  rows: number,
  cols: number,
  perColumn: boolean,
  qmax = 127,
): { q: Int8Array; scales: Float32Array } {
  const scaleCount = perColumn ? cols : 1;
  const maxAbs = new Float32Array(scaleCount);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const s = perColumn ? c : 0;
      maxAbs[s] = Math.max(maxAbs[s]!, Math.abs(weight[r * cols + c]!));
    }
  }
  const scales = maxAbs.map((m) => (m > 0 ? m / qmax : 1));
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const scale = scales[perColumn ? c : 0]!;
      q[r * cols + c] = Math.max(-qmax, Math.min(qmax, Math.round(weight[r * cols + c]! / scale)));
    }
  }
  return { q, scales };
}

/** Asymmetric uint8 quantization of a [K, N] matrix, per column or per tensor (range always includes 0). */
export function quantizeAsymmetricUint8(
  weight: Float32Array,
  rows: number,
  cols: number,
  perColumn: boolean,
): { q: Uint8Array; scales: Float32Array; zeroPoints: Uint8Array } {
  const count = perColumn ? cols : 1;
  const lo = new Float32Array(count);
  const hi = new Float32Array(count);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const s = perColumn ? c : 0;
      const v = weight[r * cols + c]!;
      lo[s] = Math.min(lo[s]!, v);
      hi[s] = Math.max(hi[s]!, v);
    }
  }
  const scales = new Float32Array(count);
  const zeroPoints = new Uint8Array(count);
  for (let s = 0; s < count; s++) {
    const scale = hi[s]! - lo[s]! > 0 ? (hi[s]! - lo[s]!) / 255 : 1;
    scales[s] = scale;
    zeroPoints[s] = Math.max(0, Math.min(255, Math.round(-lo[s]! / scale)));
  }
  const q = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const s = perColumn ? c : 0;
      q[r * cols + c] = Math.max(0, Math.min(255, Math.round(weight[r * cols + c]! / scales[s]!) + zeroPoints[s]!));
    }
  }
  return { q, scales, zeroPoints };
}

/** Symmetric int8 per row of a [V, D] table. */
export function quantizeRowsInt8(table: Float32Array, rows: number, dim: number): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(rows);
  const q = new Int8Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let maxAbs = 0;
    for (let d = 0; d < dim; d++) maxAbs = Math.max(maxAbs, Math.abs(table[r * dim + d]!));
    const scale = maxAbs > 0 ? maxAbs / 127 : 1;
    scales[r] = scale;
    for (let d = 0; d < dim; d++) q[r * dim + d] = Math.max(-127, Math.min(127, Math.round(table[r * dim + d]! / scale)));
  }
  return { q, scales };
}

function checkedExclusions(editor: GraphEditor, names: readonly string[] = []): ReadonlySet<string> {
  const nodeNames = new Set(editor.graph.node!.map((n) => n.name ?? ""));
  const unknown = names.filter((n) => !nodeNames.has(n));
  if (unknown.length > 0) throw new Error(`excludeNodes: no node named ${unknown.map((n) => `"${n}"`).join(", ")}`);
  return new Set(names);
}

interface ConstantMatMul {
  readonly node: onnx.INodeProto;
  readonly activation: string;
  readonly weightName: string;
  readonly weight: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

function constantMatMuls(editor: GraphEditor, minElements: number, skipped: string[], excluded: ReadonlySet<string> = new Set()): ConstantMatMul[] {
  const found: ConstantMatMul[] = [];
  for (const node of editor.graph.node!) {
    if (node.opType === "Gemm") skipped.push(`${node.name}: Gemm is left in float32 (build dense layers as MatMul + Add)`);
    if (node.opType !== "MatMul" || (node.domain ?? "") !== "") continue;
    if (excluded.has(node.name ?? "")) {
      skipped.push(`${node.name}: excluded`);
      continue;
    }
    const [activation, weightName] = node.input ?? [];
    const tensor = weightName === undefined ? undefined : editor.initializer(weightName);
    if (activation === undefined || weightName === undefined || tensor === undefined) {
      skipped.push(`${node.name}: B is not a constant initializer`);
      continue;
    }
    const { data, dims } = readFloat32Initializer(tensor);
    if (dims.length !== 2) {
      skipped.push(`${node.name}: B has rank ${dims.length}, not 2`);
      continue;
    }
    if (data.length < minElements) {
      skipped.push(`${node.name}: B has ${data.length} < ${minElements} elements`);
      continue;
    }
    found.push({ node, activation, weightName, weight: data, rows: dims[0]!, cols: dims[1]! });
  }
  return found;
}

function quantizeEmbeddings(
  editor: GraphEditor,
  minElements: number,
  excluded: ReadonlySet<string>,
  report: { quantizedEmbeddings: string[]; skipped: string[] },
): void {
  for (const node of [...editor.graph.node!]) {
    if (node.opType !== "Gather" || (node.domain ?? "") !== "" || excluded.has(node.name ?? "")) continue;
    const [tableName, ids] = node.input ?? [];
    const [output] = node.output ?? [];
    const tensor = tableName === undefined ? undefined : editor.initializer(tableName);
    if (tensor === undefined || ids === undefined || output === undefined || tableName === undefined) continue;
    if (intAttribute(node, "axis", 0) !== 0) continue;
    const { data, dims } = readFloat32Initializer(tensor);
    if (dims.length !== 2 || data.length < minElements) {
      report.skipped.push(`${node.name}: table ${tableName} is not a [V, D] table of at least ${minElements} elements`);
      continue;
    }
    const [rows, dim] = dims as [number, number];
    const { q, scales } = quantizeRowsInt8(data, rows, dim);
    const qName = editor.addInitializer(`${tableName}_int8`, q, [rows, dim]);
    const scaleName = editor.addInitializer(`${tableName}_row_scale`, scales, [rows]);
    const axesName = editor.addInitializer(`${tableName}_scale_axes`, BigInt64Array.from([-1n]), [1]);
    const gatheredQ = editor.uniqueName(`${output}_int8`);
    const gatheredF = editor.uniqueName(`${output}_int8_f`);
    const gatheredScale = editor.uniqueName(`${output}_scale`);
    const scaleColumn = editor.uniqueName(`${output}_scale_col`);
    editor.replaceNode(node, [
      editor.makeNode("Gather", [qName, ids], [gatheredQ], { axis: 0 }),
      editor.makeNode("Cast", [gatheredQ], [gatheredF], { to: 1 }),
      editor.makeNode("Gather", [scaleName, ids], [gatheredScale], { axis: 0 }),
      editor.makeNode("Unsqueeze", [gatheredScale, axesName], [scaleColumn]),
      editor.makeNode("Mul", [gatheredF, scaleColumn], [output]),
    ]);
    editor.removeInitializerIfUnused(tableName);
    report.quantizedEmbeddings.push(tableName);
  }
}

export function quantizeDynamicInt8(modelBytes: Uint8Array, options: DynamicQuantizationOptions = {}): { bytes: Uint8Array; report: QuantizationReport } {
  const model = decodeModel(modelBytes);
  const editor = new GraphEditor(model);
  const weightType = options.weightType ?? "int8";
  const perChannel = options.perChannel ?? true;
  const minElements = options.minElements ?? 256;
  const report = { quantizedMatMuls: [] as string[], quantizedEmbeddings: [] as string[], skipped: [] as string[] };
  const quantizedActivations = new Map<string, { q: string; scale: string; zeroPoint: string }>();

  const excluded = checkedExclusions(editor, options.excludeNodes);
  for (const matMul of constantMatMuls(editor, minElements, report.skipped, excluded)) {
    const { node, activation, weightName, weight, rows, cols } = matMul;
    const [output] = node.output ?? [];
    if (output === undefined) continue;
    const replacement: onnx.INodeProto[] = [];
    let quantizedActivation = quantizedActivations.get(activation);
    if (quantizedActivation === undefined) {
      quantizedActivation = {
        q: editor.uniqueName(`${activation}_quantized`),
        scale: editor.uniqueName(`${activation}_scale`),
        zeroPoint: editor.uniqueName(`${activation}_zero_point`),
      };
      quantizedActivations.set(activation, quantizedActivation);
      replacement.push(
        editor.makeNode("DynamicQuantizeLinear", [activation], [quantizedActivation.q, quantizedActivation.scale, quantizedActivation.zeroPoint]),
      );
    }
    const scaleDims = perChannel ? [cols] : [];
    let wQ: string;
    let wScale: string;
    let wZeroPoint: string;
    if (weightType === "int8") {
      const { q, scales } = quantizeSymmetricInt8(weight, rows, cols, perChannel, options.reduceRange ? 63 : 127);
      wQ = editor.addInitializer(`${weightName}_quantized`, q, [rows, cols]);
      wScale = editor.addInitializer(`${weightName}_scale`, scales, scaleDims);
      wZeroPoint = editor.addInitializer(`${weightName}_zero_point`, new Int8Array(scales.length), scaleDims);
    } else {
      const { q, scales, zeroPoints } = quantizeAsymmetricUint8(weight, rows, cols, perChannel);
      wQ = editor.addInitializer(`${weightName}_quantized`, q, [rows, cols]);
      wScale = editor.addInitializer(`${weightName}_scale`, scales, scaleDims);
      wZeroPoint = editor.addInitializer(`${weightName}_zero_point`, zeroPoints, scaleDims);
    }
    const integerProduct = editor.uniqueName(`${output}_int32`);
    const floatProduct = editor.uniqueName(`${output}_int32_f`);
    const combinedScale = editor.uniqueName(`${output}_scale`);
    replacement.push(
      editor.makeNode("MatMulInteger", [quantizedActivation.q, wQ, quantizedActivation.zeroPoint, wZeroPoint], [integerProduct]),
      editor.makeNode("Cast", [integerProduct], [floatProduct], { to: 1 }),
      editor.makeNode("Mul", [quantizedActivation.scale, wScale], [combinedScale]),
      editor.makeNode("Mul", [floatProduct, combinedScale], [output]),
    );
    editor.replaceNode(node, replacement);
    editor.removeInitializerIfUnused(weightName);
    report.quantizedMatMuls.push(node.name ?? output);
  }
  if (options.embeddingsPerRow) quantizeEmbeddings(editor, minElements, excluded, report);
  const range = weightType === "int8" && options.reduceRange ? "-reduce-range" : "";
  editor.setMetadata("quantization", `dynamic-${weightType}${range}${perChannel ? "-per-channel" : ""}${options.embeddingsPerRow ? "+embeddings-per-row" : ""}`);
  return { bytes: encodeModel(model), report };
}

/** Scale and uint8 zero point for an activation range (range widened to include 0, as ONNX requires). */
export function activationQuantParams(range: ActivationRange): { scale: number; zeroPoint: number } {
  if (!Number.isFinite(range.min) || !Number.isFinite(range.max) || range.min > range.max) {
    throw new Error(`bad activation range [${range.min}, ${range.max}]`);
  }
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  const scale = hi - lo > 0 ? (hi - lo) / 255 : 1;
  return { scale, zeroPoint: Math.max(0, Math.min(255, Math.round(-lo / scale))) };
}

export function quantizeQdqInt8(modelBytes: Uint8Array, options: QdqQuantizationOptions = {}): { bytes: Uint8Array; report: QuantizationReport } {
  const model = decodeModel(modelBytes);
  const editor = new GraphEditor(model);
  const perChannel = options.perChannel ?? true;
  const minElements = options.minElements ?? 256;
  const report = { quantizedMatMuls: [] as string[], quantizedEmbeddings: [] as string[], skipped: [] as string[] };
  const dequantizedActivations = new Map<string, string>();

  const excluded = checkedExclusions(editor, options.excludeNodes);
  for (const matMul of constantMatMuls(editor, minElements, report.skipped, excluded)) {
    const { node, activation, weightName, weight, rows, cols } = matMul;
    const replacement: onnx.INodeProto[] = [];
    const { q, scales } = quantizeSymmetricInt8(weight, rows, cols, perChannel, options.reduceRange ? 63 : 127);
    const scaleDims = perChannel ? [cols] : [];
    const wQ = editor.addInitializer(`${weightName}_quantized`, q, [rows, cols]);
    const wScale = editor.addInitializer(`${weightName}_scale`, scales, scaleDims);
    const wZeroPoint = editor.addInitializer(`${weightName}_zero_point`, new Int8Array(scales.length), scaleDims);
    const wDequantized = editor.uniqueName(`${weightName}_dequantized`);
    replacement.push(editor.makeNode("DequantizeLinear", [wQ, wScale, wZeroPoint], [wDequantized], perChannel ? { axis: 1 } : {}));

    let activationInput = activation;
    const range = options.activationRanges?.[activation];
    if (range !== undefined) {
      let dequantized = dequantizedActivations.get(activation);
      if (dequantized === undefined) {
        const { scale, zeroPoint } = activationQuantParams(range);
        const aScale = editor.addInitializer(`${activation}_scale`, Float32Array.of(scale), []);
        const aZeroPoint = editor.addInitializer(`${activation}_zero_point`, Uint8Array.of(zeroPoint), []);
        const aQ = editor.uniqueName(`${activation}_quantized`);
        dequantized = editor.uniqueName(`${activation}_dequantized`);
        replacement.unshift(
          editor.makeNode("QuantizeLinear", [activation, aScale, aZeroPoint], [aQ]),
          editor.makeNode("DequantizeLinear", [aQ, aScale, aZeroPoint], [dequantized]),
        );
        dequantizedActivations.set(activation, dequantized);
      }
      activationInput = dequantized;
    }
    const rewritten: onnx.INodeProto = { ...node, input: [activationInput, wDequantized] };
    replacement.push(rewritten);
    editor.replaceNode(node, replacement);
    editor.removeInitializerIfUnused(weightName);
    report.quantizedMatMuls.push(node.name ?? wDequantized);
  }
  if (options.embeddingsPerRow) quantizeEmbeddings(editor, minElements, excluded, report);
  if (!options.activationRanges && (options.foldWeightsAtLoad ?? true)) {
    editor.setMetadata(SESSION_CONFIG_METADATA_KEY, JSON.stringify({ "session.disable_quant_qdq": "1" }));
  }
  const activations = options.activationRanges ? `-w8a8${options.reduceRange ? "-reduce-range" : ""}` : "-w8a32";
  editor.setMetadata("quantization", `qdq-int8${activations}${perChannel ? "-per-channel" : ""}${options.embeddingsPerRow ? "+embeddings-per-row" : ""}`);
  return { bytes: encodeModel(model), report };
}

/**
 * A copy of the model that also outputs the given intermediate float tensors (no declared shape), for calibrating
 * activation ranges with any runtime. Returns the tensor names that were added.
 */
export function withIntermediateOutputs(modelBytes: Uint8Array, tensorNames: readonly string[]): Uint8Array {
  const model = decodeModel(modelBytes);
  const graph = model.graph!;
  const produced = new Set((graph.node ?? []).flatMap((n) => n.output ?? []));
  for (const name of tensorNames) {
    if (!produced.has(name)) throw new Error(`tensor "${name}" is not produced by any node`);
    if ((graph.output ?? []).some((o) => o.name === name)) continue;
    graph.output!.push({ name, type: { tensorType: { elemType: 1 } } });
  }
  return encodeModel(model);
}

/** Names of the activation inputs of the MatMuls that the quantizers would quantize (what calibration must observe). */
export function matMulActivationNames(modelBytes: Uint8Array, minElements = 256): string[] {
  const editor = new GraphEditor(decodeModel(modelBytes));
  return [...new Set(constantMatMuls(editor, minElements, []).map((m) => m.activation))];
}
