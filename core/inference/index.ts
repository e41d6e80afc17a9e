export type { FeedElementType, Feeds, ModelSession, OnnxRuntimeAdapter, OutputTensor, TensorFeed, TensorSpec } from "./types";
export { validateFeeds } from "./validate-feeds";
export { readOnnxModelInfo, type OnnxModelInfo } from "./onnx-model-info";
export {
  createOrtAdapter,
  SESSION_CONFIG_METADATA_KEY,
  type OrtAdapterOptions,
  type OrtModuleLike,
  type OrtSessionLike,
  type OrtSessionOptions,
  type OrtTensorLike,
  type OrtValueMetadataLike,
} from "./ort-session";
export { float32Feed, int32Feed, int64Feed } from "./feeds";
