// Adapter over any onnxruntime JS package (onnxruntime-web, onnxruntime-node): they share the onnxruntime-common
// API, so core only needs the structural slice below and never imports a runtime itself. Each environment passes its
// own module object (worker/inference/, scripts/onnx/).
import { readOnnxModelInfo } from "./onnx-model-info";
import type { FeedElementType, Feeds, ModelSession, OnnxRuntimeAdapter, OutputTensor, TensorSpec } from "./types";
import { validateFeeds } from "./validate-feeds";

export interface OrtTensorLike {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
  dispose?(): void;
}

export type OrtValueMetadataLike =
  | { readonly name: string; readonly isTensor: false }
  | { readonly name: string; readonly isTensor: true; readonly type: string; readonly shape: ReadonlyArray<number | string> };

export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly OrtValueMetadataLike[];
  readonly outputMetadata: readonly OrtValueMetadataLike[];
  run(feeds: Record<string, OrtTensorLike>, fetches: readonly string[]): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** Session options passed through to InferenceSession.create (subset of onnxruntime-common's SessionOptions). */
export interface OrtSessionOptions {
  readonly executionProviders: readonly string[];
  readonly graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
  readonly intraOpNumThreads?: number;
  readonly interOpNumThreads?: number;
  readonly executionMode?: "sequential" | "parallel";
  readonly logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  readonly optimizedModelFilePath?: string;
  /** Session config entries, e.g. { "session.disable_quant_qdq": "1" } (onnxruntime-common's `extra`). */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * Metadata key under which a model file carries session config entries for itself (a JSON object of strings),
 * e.g. the W8A32 QDQ quantizer writes {"session.disable_quant_qdq":"1"} so that every runtime constant-folds its
 * DequantizeLinear weights at load time instead of dequantizing on every run.
 */
export const SESSION_CONFIG_METADATA_KEY = "onnxruntime.session_config";

function sessionConfigFromMetadata(metadataProps: Readonly<Record<string, string>>): Record<string, string> {
  const raw = metadataProps[SESSION_CONFIG_METADATA_KEY];
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`metadata "${SESSION_CONFIG_METADATA_KEY}" is not JSON: ${raw}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "string")) {
    throw new Error(`metadata "${SESSION_CONFIG_METADATA_KEY}" must be a JSON object of strings: ${raw}`);
  }
  return parsed as Record<string, string>;
}

export interface OrtModuleLike {
  readonly InferenceSession: {
    create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSessionLike>;
  };
  readonly Tensor: new (
    type: FeedElementType,
    data: Float32Array | BigInt64Array | Int32Array,
    dims: readonly number[],
  ) => OrtTensorLike;
}

export interface OrtAdapterOptions {
  readonly name: string;
  readonly sessionOptions: OrtSessionOptions;
  /**
   * Runs around every InferenceSession.create (e.g. the workerd adapter installs its wasm loader shim here for the
   * first create). Defaults to calling `create` directly.
   */
  readonly aroundCreate?: <T>(create: () => Promise<T>) => Promise<T>;
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

function specOf(metadata: OrtValueMetadataLike): TensorSpec {
  return metadata.isTensor
    ? { name: metadata.name, type: metadata.type, dims: [...metadata.shape] }
    : { name: metadata.name, type: "non-tensor", dims: undefined };
}

class OrtModelSession implements ModelSession {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  private queue: Promise<unknown> = Promise.resolve();
  private released = false;

  constructor(
    private readonly ort: OrtModuleLike,
    private readonly session: OrtSessionLike,
    readonly runtimeName: string,
  ) {
    this.inputs = session.inputMetadata.map(specOf);
    this.outputs = session.outputMetadata.map(specOf);
  }

  async run(feeds: Feeds, outputNames?: readonly string[]): Promise<Record<string, Float32Array>> {
    const withShapes = await this.runWithShapes(feeds, outputNames);
    return Object.fromEntries(Object.entries(withShapes).map(([name, tensor]) => [name, tensor.data]));
  }

  runWithShapes(feeds: Feeds, outputNames?: readonly string[]): Promise<Record<string, OutputTensor>> {
    const result = this.queue.then(() => this.runNow(feeds, outputNames));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runNow(feeds: Feeds, outputNames: readonly string[] | undefined): Promise<Record<string, OutputTensor>> {
    if (this.released) throw new Error(`${this.runtimeName}: session was released`);
    validateFeeds(this.runtimeName, this.inputs, feeds);
    const fetches = outputNames ?? this.session.outputNames;
    for (const name of fetches) {
      const spec = this.outputs.find((o) => o.name === name);
      if (spec === undefined) throw new Error(`${this.runtimeName}: unknown output "${name}" (model outputs: ${this.session.outputNames.join(", ")})`);
      if (spec.type !== "float32") throw new Error(`${this.runtimeName}: output "${name}" is ${spec.type}; only float32 outputs are supported`);
    }
    const ortFeeds: Record<string, OrtTensorLike> = {};
    for (const [name, feed] of Object.entries(feeds)) ortFeeds[name] = new this.ort.Tensor(feed.type, feed.data, feed.dims);
    let results: Record<string, OrtTensorLike>;
    try {
      results = await this.session.run(ortFeeds, fetches);
    } catch (error) {
      throw new Error(`${this.runtimeName}: run failed: ${errorMessage(error)}`, { cause: error });
    }
    const out: Record<string, OutputTensor> = {};
    for (const name of fetches) {
      const tensor = results[name];
      if (tensor === undefined || !(tensor.data instanceof Float32Array)) {
        throw new Error(`${this.runtimeName}: output "${name}" missing or not float32 (got ${tensor?.type ?? "nothing"})`);
      }
      // Copy: runtimes may hand out views into memory they reuse or free on dispose().
      out[name] = { data: tensor.data.slice(), dims: [...tensor.dims] };
      tensor.dispose?.();
    }
    return out;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.queue;
    await this.session.release();
  }
}

export function createOrtAdapter(ort: OrtModuleLike, options: OrtAdapterOptions): OnnxRuntimeAdapter {
  const aroundCreate = options.aroundCreate ?? (<T>(create: () => Promise<T>) => create());
  return {
    name: options.name,
    async createSession(modelBytes: Uint8Array): Promise<ModelSession> {
      let sessionOptions: OrtSessionOptions;
      try {
        // Cheap structural check first, so garbage bytes get a precise message and never reach the runtime.
        const info = readOnnxModelInfo(modelBytes);
        const extra = { ...sessionConfigFromMetadata(info.metadataProps), ...options.sessionOptions.extra };
        // A fresh object per session: onnxruntime-web writes its own entries into the options it is given.
        sessionOptions = { ...options.sessionOptions, ...(Object.keys(extra).length > 0 ? { extra } : {}) };
      } catch (error) {
        throw new Error(`${options.name}: cannot load model: ${errorMessage(error)}`, { cause: error });
      }
      let session: OrtSessionLike;
      try {
        session = await aroundCreate(() => ort.InferenceSession.create(modelBytes, sessionOptions));
      } catch (error) {
        throw new Error(`${options.name}: cannot load model: ${errorMessage(error)}`, { cause: error });
      }
      return new OrtModelSession(ort, session, options.name);
    },
  };
}
