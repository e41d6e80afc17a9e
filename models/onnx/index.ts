export { ONNX_IR_VERSION, ONNX_OPSET, onnxProto, int64ToNumber, type onnx } from "./onnx-proto";
export {
  OnnxGraphBuilder,
  decodeModel,
  encodeModel,
  floatAttr,
  floatsAttr,
  type AttributeValue,
  type Dim,
  type ElementType,
  type ModelMetadata,
  type NodeOptions,
  type TensorName,
} from "./graph-builder";
export {
  activationQuantParams,
  matMulActivationNames,
  quantizeDynamicInt8,
  quantizeQdqInt8,
  withIntermediateOutputs,
  type ActivationRange,
  type DynamicQuantizationOptions,
  type QdqQuantizationOptions,
  type QuantizationReport,
} from "./quantize";
export { calibrateActivationRanges } from "./calibrate";
