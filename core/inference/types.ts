// Runtime-agnostic model session contract. Core code talks to these interfaces only; the concrete onnxruntime
// (onnxruntime-web in Node or in workerd, onnxruntime-node) is injected as an OnnxRuntimeAdapter.

export type FeedElementType = "float32" | "int64" | "int32";

/** One input tensor, row-major. `dims` must multiply to `data.length`. */
export type TensorFeed =
  | { readonly type: "float32"; readonly data: Float32Array; readonly dims: readonly number[] }
  | { readonly type: "int64"; readonly data: BigInt64Array; readonly dims: readonly number[] }
  | { readonly type: "int32"; readonly data: Int32Array; readonly dims: readonly number[] };

export type Feeds = Readonly<Record<string, TensorFeed>>;

/** A float32 output tensor with its shape. */
export interface OutputTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** Declared type and shape of a model input/output; a string dim is symbolic (e.g. "batch"). */
export interface TensorSpec {
  readonly name: string;
  /** Element type as the runtime reports it ("float32", "int64", ...). */
  readonly type: string;
  /** undefined when the model does not declare a shape. */
  readonly dims: readonly (number | string)[] | undefined;
}

export interface ModelSession {
  readonly runtimeName: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /**
   * Validates `feeds` against `inputs` (names, dtype, rank, fixed dims, consistent symbolic dims, element count),
   * runs the model and returns every requested float32 output (default: all outputs). Runs on one session are
   * serialised, so concurrent callers (e.g. concurrent Worker requests) are safe.
   */
  run(feeds: Feeds, outputNames?: readonly string[]): Promise<Record<string, Float32Array>>;
  /** Same as run(), with output shapes. */
  runWithShapes(feeds: Feeds, outputNames?: readonly string[]): Promise<Record<string, OutputTensor>>;
  release(): Promise<void>;
}

export interface OnnxRuntimeAdapter {
  /** e.g. "onnxruntime-web/node", "onnxruntime-web/workerd", "onnxruntime-node". */
  readonly name: string;
  /** Throws an Error naming the runtime and the reason when the bytes are not a loadable ONNX model. */
  createSession(modelBytes: Uint8Array): Promise<ModelSession>;
}
