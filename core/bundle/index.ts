export { BundleError } from "./errors";
export {
  BUNDLE_FORMAT,
  buildManifestFiles,
  bundleManifestSchema,
  hashBytes,
  parseManifest,
  parseManifestText,
  relativePathProblem,
  verifyBundleFiles,
  versionProblem,
  type BundleFileEntry,
  type BundleManifest,
} from "./manifest";
export {
  PACKED_DTYPES,
  PACKED_FORMAT_VERSION,
  dtypeOf,
  packArrays,
  requireArray,
  unpackArrays,
  type JsonValue,
  type PackedArrayOf,
  type PackedDtype,
  type PackedTypedArray,
  type UnpackedArrays,
} from "./packed";
export {
  ACTIVE_KEY,
  KV_MAX_KEY_BYTES,
  KV_MAX_VALUE_BYTES,
  VERSIONS_KEY,
  chunkCountFor,
  fileKey,
  fileValueKeys,
  manifestKey,
  splitIntoChunks,
  type KvStorage,
  type StoredManifest,
} from "./kv-layout";
export { MemoryKv, type BundleKvReader, type BundleKvWriter } from "./kv";
export { patternBytes, sampleBundle } from "./sample";
export {
  bundleFromFiles,
  formatBytes,
  loadBundle,
  publishBundle,
  pruneVersions,
  readActiveVersion,
  readVersionsIndex,
  type LoadOptions,
  type BundleFiles,
  type PublishOptions,
  type PublishReport,
} from "./store";
