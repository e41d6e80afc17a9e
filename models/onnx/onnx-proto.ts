// onnx-proto is a CommonJS bundle whose `module.exports` is the protobufjs root, so Node's ESM loader only
// exposes it as a default export. Types come from the package's namespace declaration.
import onnxProtoPackage from "onnx-proto";
import type { onnx } from "onnx-proto";

export type { onnx };

/** Runtime classes of the ONNX protobuf schema (ModelProto, GraphProto, TensorProto, ...). */
export const onnxProto: typeof onnx = onnxProtoPackage.onnx;

/** ONNX IR version written by this package: onnx-proto ships the ONNX 1.10 schema, i.e. IR version 8. */
export const ONNX_IR_VERSION = 8;

/**
 * Default-domain opset of every graph built here. Opset 17 is ONNX 1.12's (still IR version 8, so it matches the
 * schema we can encode); onnxruntime 1.30 (web and node) implements all ops used here at this opset, including
 * per-axis DequantizeLinear (13+), ReduceSum/Unsqueeze with `axes` as an input (13+) and DynamicQuantizeLinear.
 */
export const ONNX_OPSET = 17;

/** Long values decoded by protobufjs (int64 fields) -> number, refusing values that do not fit exactly. */
export function int64ToNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  const asNumber = typeof value === "number" ? value : value.toNumber();
  if (!Number.isSafeInteger(asNumber)) throw new Error(`int64 value ${String(value)} is not a safe integer`);
  return asNumber;
}
