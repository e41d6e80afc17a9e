// A small typed builder for ONNX graphs over onnx-proto's protobuf classes.
//
// Tensors are referred to by name (a `TensorName` string). Every helper appends nodes in call order and names
// generated tensors from a per-builder counter, so the same sequence of calls yields the same bytes every time
// (fixture files depend on that).
import { ONNX_IR_VERSION, ONNX_OPSET, onnxProto, type onnx } from "./onnx-proto";

export type TensorName = string;

/** Element types the builder can declare for graph inputs, outputs and initializers. */
export type ElementType = "float32" | "int64" | "int32" | "int8" | "uint8";

/** A dimension: a fixed size, or a symbolic name such as "batch" (same name = same size at run time). */
export type Dim = number | string;

const DATA_TYPE: Record<ElementType, number> = {
  float32: onnxProto.TensorProto.DataType.FLOAT,
  uint8: onnxProto.TensorProto.DataType.UINT8,
  int8: onnxProto.TensorProto.DataType.INT8,
  int32: onnxProto.TensorProto.DataType.INT32,
  int64: onnxProto.TensorProto.DataType.INT64,
};

export function onnxDataType(elementType: ElementType): number {
  return DATA_TYPE[elementType];
}

export function elementTypeOfOnnxDataType(dataType: number): ElementType {
  for (const [name, code] of Object.entries(DATA_TYPE)) if (code === dataType) return name as ElementType;
  throw new Error(`ONNX data type ${dataType} is not one of ${Object.keys(DATA_TYPE).join(", ")}`);
}

/** A float attribute (plain numbers are encoded as INT attributes, so floats must be marked). */
export interface FloatAttribute {
  readonly float: number;
}
export interface FloatsAttribute {
  readonly floats: readonly number[];
}
export type AttributeValue = number | readonly number[] | string | FloatAttribute | FloatsAttribute;

export function floatAttr(value: number): FloatAttribute {
  return { float: value };
}
export function floatsAttr(values: readonly number[]): FloatsAttribute {
  return { floats: values };
}

export function encodeAttribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const Type = onnxProto.AttributeProto.AttributeType;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer; use floatAttr()`);
    return { name, type: Type.INT, i: value };
  }
  if (typeof value === "string") return { name, type: Type.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    const ints = value as readonly number[];
    for (const v of ints) {
      if (!Number.isSafeInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer; use floatsAttr()`);
    }
    return { name, type: Type.INTS, ints: [...ints] };
  }
  if ("float" in value) return { name, type: Type.FLOAT, f: value.float };
  if ("floats" in value) return { name, type: Type.FLOATS, floats: [...value.floats] };
  throw new Error(`attribute ${name}: unsupported value`);
}

/** Little-endian raw bytes of a typed array (TensorProto.raw_data is always little-endian). */
export function littleEndianBytes(data: Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else if (data instanceof Int32Array) data.forEach((v, i) => view.setInt32(i * 4, v, true));
  else if (data instanceof BigInt64Array) data.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  else out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

type InitializerData = Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;

function elementTypeOfData(data: InitializerData): ElementType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Int8Array) return "int8";
  return "uint8";
}

export function makeTensorProto(name: string, data: InitializerData, dims: readonly number[]): onnx.ITensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`initializer ${name}: bad dimension ${d} in [${dims.join(", ")}]`);
  }
  if (count !== data.length) {
    throw new Error(`initializer ${name}: ${data.length} values do not fill dims [${dims.join(", ")}] (${count} elements)`);
  }
  return {
    name,
    dims: [...dims],
    dataType: DATA_TYPE[elementTypeOfData(data)],
    rawData: littleEndianBytes(data),
  };
}

export function makeValueInfo(name: string, elementType: ElementType, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[elementType],
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Model-level metadata. `metadataProps` travels inside the .onnx file (e.g. the feature spec hash of a bundle). */
export interface ModelMetadata {
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly domain?: string;
  readonly modelVersion?: number;
  readonly docString?: string;
  readonly metadataProps?: Readonly<Record<string, string>>;
}

export interface NodeOptions {
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
  /** Operator domain; "" (default ONNX domain) unless e.g. "com.microsoft". */
  readonly domain?: string;
  /** Node name; generated from the op type when omitted. */
  readonly name?: string;
}

export class OnnxGraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly usedNames = new Set<string>();
  private readonly extraDomains = new Map<string, number>();
  private counter = 0;

  constructor(
    readonly graphName: string,
    readonly opset: number = ONNX_OPSET,
  ) {}

  /** A fresh tensor name derived from `hint`, unique in this graph. */
  uniqueName(hint: string): TensorName {
    let name = hint;
    while (this.usedNames.has(name)) name = `${hint}_${++this.counter}`;
    this.usedNames.add(name);
    return name;
  }

  private claim(name: string): TensorName {
    if (this.usedNames.has(name)) throw new Error(`tensor name "${name}" is already used in graph ${this.graphName}`);
    this.usedNames.add(name);
    return name;
  }

  /** Declares a graph input, e.g. `input("item_ids", "int64", ["batch"])`. */
  input(name: string, elementType: ElementType, dims: readonly Dim[]): TensorName {
    this.inputs.push(makeValueInfo(this.claim(name), elementType, dims));
    return name;
  }

  /** Declares an existing tensor as a graph output (use `identity` first to give it a public name). */
  output(name: TensorName, elementType: ElementType, dims: readonly Dim[]): void {
    if (!this.usedNames.has(name)) throw new Error(`output "${name}" is not produced by graph ${this.graphName}`);
    if (this.outputs.some((o) => o.name === name)) throw new Error(`output "${name}" is declared twice`);
    this.outputs.push(makeValueInfo(name, elementType, dims));
  }

  initializer(name: string, data: InitializerData, dims: readonly number[]): TensorName {
    const unique = this.uniqueName(name);
    this.initializers.push(makeTensorProto(unique, data, dims));
    return unique;
  }

  float32(name: string, data: Float32Array | readonly number[], dims: readonly number[]): TensorName {
    return this.initializer(name, data instanceof Float32Array ? data : Float32Array.from(data), dims);
  }

  int64(name: string, data: BigInt64Array | readonly number[], dims: readonly number[] = [data.length]): TensorName {
    const values = data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v));
    return this.initializer(name, values, dims);
  }

  int32(name: string, data: Int32Array | readonly number[], dims: readonly number[] = [data.length]): TensorName {
    return this.initializer(name, data instanceof Int32Array ? data : Int32Array.from(data), dims);
  }

  /** Appends a node; returns its output names (`outputs` given as names, or as a count of generated names). */
  node(opType: string, inputs: readonly TensorName[], outputs: readonly string[] | number = 1, options: NodeOptions = {}): TensorName[] {
    const outputNames =
      typeof outputs === "number"
        ? Array.from({ length: outputs }, (_, i) => this.uniqueName(`${opType.toLowerCase()}_${this.nodes.length}${outputs > 1 ? `_${i}` : ""}`))
        : outputs.map((o) => this.claim(o));
    const domain = options.domain ?? "";
    if (domain !== "" && !this.extraDomains.has(domain)) this.extraDomains.set(domain, 1);
    const node: onnx.INodeProto = {
      name: options.name ?? `${opType}_${this.nodes.length}`,
      opType,
      input: [...inputs],
      output: outputNames,
      attribute: Object.entries(options.attributes ?? {}).map(([k, v]) => encodeAttribute(k, v)),
    };
    if (domain !== "") node.domain = domain;
    this.nodes.push(node);
    return outputNames;
  }

  private one(opType: string, inputs: readonly TensorName[], options: NodeOptions & { output?: string } = {}): TensorName {
    const [out] = this.node(opType, inputs, options.output === undefined ? 1 : [options.output], options);
    return out!;
  }

  // --- single ops -------------------------------------------------------------------------------------------

  identity(x: TensorName, outputName?: string): TensorName {
    return this.one("Identity", [x], { output: outputName });
  }
  /** Gather(data, indices, axis): with data = embedding table [V, D] and axis 0 this is an embedding lookup. */
  gather(data: TensorName, indices: TensorName, axis = 0): TensorName {
    return this.one("Gather", [data, indices], { attributes: { axis } });
  }
  matMul(a: TensorName, b: TensorName): TensorName {
    return this.one("MatMul", [a, b]);
  }
  gemm(a: TensorName, b: TensorName, c?: TensorName, options: { transA?: boolean; transB?: boolean } = {}): TensorName {
    return this.one("Gemm", c === undefined ? [a, b] : [a, b, c], {
      attributes: { transA: options.transA ? 1 : 0, transB: options.transB ? 1 : 0 },
    });
  }
  add(a: TensorName, b: TensorName): TensorName {
    return this.one("Add", [a, b]);
  }
  sub(a: TensorName, b: TensorName): TensorName {
    return this.one("Sub", [a, b]);
  }
  mul(a: TensorName, b: TensorName): TensorName {
    return this.one("Mul", [a, b]);
  }
  div(a: TensorName, b: TensorName): TensorName {
    return this.one("Div", [a, b]);
  }
  max(a: TensorName, b: TensorName): TensorName {
    return this.one("Max", [a, b]);
  }
  sqrt(x: TensorName): TensorName {
    return this.one("Sqrt", [x]);
  }
  relu(x: TensorName): TensorName {
    return this.one("Relu", [x]);
  }
  sigmoid(x: TensorName): TensorName {
    return this.one("Sigmoid", [x]);
  }
  cast(x: TensorName, to: ElementType): TensorName {
    return this.one("Cast", [x], { attributes: { to: DATA_TYPE[to] } });
  }
  concat(inputs: readonly TensorName[], axis: number): TensorName {
    if (inputs.length === 0) throw new Error("concat needs at least one input");
    return this.one("Concat", inputs, { attributes: { axis } });
  }
  softmax(x: TensorName, axis = -1): TensorName {
    return this.one("Softmax", [x], { attributes: { axis } });
  }
  reduceSum(x: TensorName, axes: readonly number[], keepDims: boolean): TensorName {
    return this.one("ReduceSum", [x, this.int64("axes", axes)], { attributes: { keepdims: keepDims ? 1 : 0 } });
  }
  /** ReduceL2 (opset 17: axes is an attribute). */
  reduceL2(x: TensorName, axes: readonly number[], keepDims: boolean): TensorName {
    return this.one("ReduceL2", [x], { attributes: { axes, keepdims: keepDims ? 1 : 0 } });
  }
  lpNormalization(x: TensorName, axis = -1, p: 1 | 2 = 2): TensorName {
    return this.one("LpNormalization", [x], { attributes: { axis, p } });
  }
  unsqueeze(x: TensorName, axes: readonly number[]): TensorName {
    return this.one("Unsqueeze", [x, this.int64("unsqueeze_axes", axes)]);
  }
  squeeze(x: TensorName, axes: readonly number[]): TensorName {
    return this.one("Squeeze", [x, this.int64("squeeze_axes", axes)]);
  }
  /** x[starts:ends] along `axes` (Slice, inputs form). */
  slice(x: TensorName, starts: readonly number[], ends: readonly number[], axes: readonly number[]): TensorName {
    return this.one("Slice", [x, this.int64("slice_starts", starts), this.int64("slice_ends", ends), this.int64("slice_axes", axes)]);
  }
  reshape(x: TensorName, shape: readonly number[]): TensorName {
    return this.one("Reshape", [x, this.int64("shape", shape)]);
  }

  // --- layers -----------------------------------------------------------------------------------------------

  /** Embedding lookup: table [V, D] (float32) gathered by ids of any shape S -> [...S, D]. */
  embedding(name: string, table: Float32Array, rows: number, dim: number, ids: TensorName): TensorName {
    return this.gather(this.float32(`${name}.weight`, table, [rows, dim]), ids);
  }

  /**
   * Embedding bag over a padded id matrix. Contract: `ids` is [batch, maxBag] (int64 or int32), every entry a valid
   * row (pad with 0); `mask` is float32 [batch, maxBag], 1 for real entries and 0 for padding. Result [batch, D].
   * Lowered to Gather + Mul(mask) + ReduceSum, which ORT runs as plain CPU kernels (no EmbeddingBag op in ONNX);
   * "mean" divides by max(#real entries, 1) so an empty bag yields zeros.
   */
  embeddingBag(tableTensor: TensorName, ids: TensorName, mask: TensorName, mode: "sum" | "mean"): TensorName {
    const gathered = this.gather(tableTensor, ids); // [B, L, D]
    const maskColumn = this.unsqueeze(mask, [2]); // [B, L, 1]
    const summed = this.reduceSum(this.mul(gathered, maskColumn), [1], false); // [B, D]
    if (mode === "sum") return summed;
    const count = this.reduceSum(mask, [1], true); // [B, 1]
    return this.div(summed, this.max(count, this.float32("one", [1], [1])));
  }

  /**
   * Fully connected layer y = x·W + b with W stored [inFeatures, outFeatures] (MatMul + Add, which ORT fuses).
   * Nodes are named "<name>/MatMul" and "<name>/Add" (quantizers can exclude layers by node name).
   */
  dense(name: string, x: TensorName, weight: Float32Array, bias: Float32Array | undefined, inFeatures: number, outFeatures: number): TensorName {
    const weightTensor = this.float32(`${name}.weight`, weight, [inFeatures, outFeatures]);
    const product = this.one("MatMul", [x, weightTensor], { name: `${name}/MatMul` });
    if (bias === undefined) return product;
    return this.one("Add", [product, this.float32(`${name}.bias`, bias, [outFeatures])], { name: `${name}/Add` });
  }

  /** x / max(||x||₂, eps) along the last axis (safe on all-zero rows, unlike LpNormalization). */
  l2Normalize(x: TensorName, eps = 1e-12): TensorName {
    const norm = this.reduceL2(x, [-1], true);
    return this.div(x, this.max(norm, this.float32("l2_eps", [eps], [1])));
  }

  // --- model ------------------------------------------------------------------------------------------------

  toModelProto(metadata: ModelMetadata = {}): onnx.ModelProto {
    if (this.outputs.length === 0) throw new Error(`graph ${this.graphName} has no outputs`);
    const props = Object.entries(metadata.metadataProps ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return onnxProto.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: "", version: this.opset }, ...[...this.extraDomains].map(([domain, version]) => ({ domain, version }))],
      producerName: metadata.producerName ?? "explore-edge-ranker",
      producerVersion: metadata.producerVersion ?? "0",
      domain: metadata.domain ?? "",
      modelVersion: metadata.modelVersion ?? 1,
      docString: metadata.docString ?? "",
      metadataProps: props.map(([key, value]) => ({ key, value })),
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }

  toBytes(metadata: ModelMetadata = {}): Uint8Array {
    return encodeModel(this.toModelProto(metadata));
  }
}

export function encodeModel(model: onnx.IModelProto): Uint8Array {
  const encoded = onnxProto.ModelProto.encode(model).finish();
  // protobufjs returns a Node Buffer in Node; hand out a plain Uint8Array (Buffer#slice shares memory, and
  // runtimes/tests should see the same type in Node and workerd).
  return encoded.constructor === Uint8Array ? encoded : new Uint8Array(encoded);
}

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  try {
    return onnxProto.ModelProto.decode(bytes);
  } catch (error) {
    throw new Error(`not a valid ONNX model (${bytes.byteLength} bytes): ${(error as Error).message}`);
  }
}
