// Helpers for rewriting a decoded ModelProto (used by the quantizers): initializer access, unique naming and
// in-place node replacement that keeps the node list topologically ordered.
import { encodeAttribute, makeTensorProto, type AttributeValue } from "./graph-builder";
import { int64ToNumber, onnxProto, type onnx } from "./onnx-proto";

export class GraphEditor {
  readonly graph: onnx.IGraphProto;
  private readonly names = new Set<string>();
  private readonly initializersByName = new Map<string, onnx.ITensorProto>();
  private counter = 0;

  constructor(readonly model: onnx.IModelProto) {
    if (!model.graph) throw new Error("model has no graph");
    this.graph = model.graph;
    this.graph.node ??= [];
    this.graph.initializer ??= [];
    for (const init of this.graph.initializer) {
      this.names.add(init.name ?? "");
      this.initializersByName.set(init.name ?? "", init);
    }
    for (const value of [...(this.graph.input ?? []), ...(this.graph.output ?? [])]) this.names.add(value.name ?? "");
    for (const node of this.graph.node) {
      for (const out of node.output ?? []) this.names.add(out);
      if (node.name) this.names.add(node.name);
    }
  }

  uniqueName(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  initializer(name: string): onnx.ITensorProto | undefined {
    return this.initializersByName.get(name);
  }

  addInitializer(hint: string, data: Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array, dims: readonly number[]): string {
    const name = this.uniqueName(hint);
    const tensor = makeTensorProto(name, data, dims);
    this.graph.initializer!.push(tensor);
    this.initializersByName.set(name, tensor);
    return name;
  }

  /** Number of node inputs and graph outputs that read `tensorName`. */
  consumerCount(tensorName: string): number {
    let count = (this.graph.output ?? []).filter((o) => o.name === tensorName).length;
    for (const node of this.graph.node!) for (const input of node.input ?? []) if (input === tensorName) count++;
    return count;
  }

  /** Drops an initializer that nothing reads any more. */
  removeInitializerIfUnused(name: string): void {
    if (this.consumerCount(name) > 0) return;
    this.graph.initializer = this.graph.initializer!.filter((t) => t.name !== name);
    this.initializersByName.delete(name);
  }

  makeNode(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    domain = "",
  ): onnx.INodeProto {
    const node: onnx.INodeProto = {
      name: this.uniqueName(`${opType}_q`),
      opType,
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(attributes).map(([k, v]) => encodeAttribute(k, v)),
    };
    if (domain !== "") node.domain = domain;
    return node;
  }

  /** Replaces `node` by `replacement` at the same position. */
  replaceNode(node: onnx.INodeProto, replacement: readonly onnx.INodeProto[]): void {
    const index = this.graph.node!.indexOf(node);
    if (index < 0) throw new Error(`node ${node.name ?? node.opType} is not in the graph`);
    this.graph.node!.splice(index, 1, ...replacement);
  }

  setMetadata(key: string, value: string): void {
    const props = (this.model.metadataProps ??= []);
    const existing = props.find((p) => p.key === key);
    if (existing) existing.value = value;
    else props.push({ key, value });
  }
}

/** Float32 contents and dims of an initializer (raw_data or float_data). */
export function readFloat32Initializer(tensor: onnx.ITensorProto): { data: Float32Array; dims: number[] } {
  if (tensor.dataType !== onnxProto.TensorProto.DataType.FLOAT) throw new Error(`initializer ${tensor.name} is not float32`);
  const dims = (tensor.dims ?? []).map((d) => int64ToNumber(d));
  const count = dims.reduce((a, b) => a * b, 1);
  let data: Float32Array;
  if (tensor.rawData && tensor.rawData.length > 0) {
    if (tensor.rawData.length !== count * 4) throw new Error(`initializer ${tensor.name}: raw_data has ${tensor.rawData.length} bytes, expected ${count * 4}`);
    const view = new DataView(tensor.rawData.buffer, tensor.rawData.byteOffset, tensor.rawData.byteLength);
    data = Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
  } else {
    data = Float32Array.from(tensor.floatData ?? []);
    if (data.length !== count) throw new Error(`initializer ${tensor.name}: float_data has ${data.length} values, expected ${count}`);
  }
  return { data, dims };
}

export function intAttribute(node: onnx.INodeProto, name: string, fallback: number): number {
  const attribute = (node.attribute ?? []).find((a) => a.name === name);
  return attribute ? int64ToNumber(attribute.i) : fallback;
}
