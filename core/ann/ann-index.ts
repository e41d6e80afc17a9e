import {
  METRIC_CODES,
  SCALAR_CODES,
  metricFromCode,
  scalarFromCode,
  type AnnMetric,
  type AnnScalar,
} from "./abi";
import type { InstanceBound, UsearchRuntime } from "./runtime";
import { wasmApi } from "./wasm-api";
import {
  MAX_EXPANSION,
  MAX_K,
  assertIndexBytes,
  assertKeys,
  assertPositiveInteger,
  assertQueryVector,
  assertVectorRows,
} from "./validate";

/**
 * Search expansion (HNSW `ef`) used when neither the index nor the call sets one. USearch walks with
 * max(expansion, k), so this matters for small k. Chosen with `npm run bench:ann` on 100k low-rank 64-d
 * vectors (connectivity 16): recall >= 0.95 against brute force for top-10 and top-100 alike.
 * Raise it for nearly isotropic data, where graphs need a much wider beam.
 */
export const DEFAULT_SEARCH_EXPANSION = 64;
export const DEFAULT_CONNECTIVITY = 16;
export const DEFAULT_ADD_EXPANSION = 128;

export interface AnnIndexOptions {
  readonly dimensions: number;
  readonly metric?: AnnMetric;
  /** How vectors are stored; queries and added vectors are always float32. */
  readonly scalar?: AnnScalar;
  readonly connectivity?: number;
  readonly expansionAdd?: number;
  readonly expansionSearch?: number;
}

export interface AnnLoadOptions {
  /**
   * "view" (default): USearch reads the buffer in place, so wasm memory holds one copy; the index is read-only.
   * "copy": parsed into USearch's own structures; `add` works afterwards.
   */
  readonly mode?: "view" | "copy";
  readonly expansionSearch?: number;
  /** Expected shape: a mismatch throws, which catches an index that does not belong to the item table. */
  readonly dimensions?: number;
  readonly metric?: AnnMetric;
  /**
   * Keep a reference to `bytes` (default true) so the index can be rebuilt after a wasm trap. The caller must
   * not modify them afterwards. Without it, a trap loses the index and later calls throw AnnIndexLostError.
   */
  readonly retainForRecovery?: boolean;
}

export interface AnnSearchOptions {
  /** Beam width of the graph walk; larger is slower and more exact. Defaults to the index's expansion. */
  readonly expansion?: number;
  /** Scan every vector instead of walking the graph: exact top-k, for small indexes or to measure recall. */
  readonly exact?: boolean;
}

/** Nearest neighbours, closest first. Keys are item-table rows. */
export interface AnnSearchResult {
  readonly keys: Uint32Array;
  readonly distances: Float32Array;
}

/** Thrown when a wasm trap destroyed an index that was loaded with `retainForRecovery: false`. */
export class AnnIndexLostError extends Error {
  override readonly name = "AnnIndexLostError";
}

type IndexSource =
  | { readonly kind: "created"; readonly options: Required<AnnIndexOptions> }
  | { readonly kind: "loaded"; bytes: Uint8Array | undefined; readonly mode: "view" | "copy" };

/** Rows added after creation or a copy-load, replayed when the index is rebuilt after a trap. */
class AddJournal {
  keys = new Uint32Array(64);
  vectors: Float32Array;
  count = 0;

  constructor(private readonly dimensions: number) {
    this.vectors = new Float32Array(64 * dimensions);
  }

  append(keys: Uint32Array, vectors: Float32Array, rows: number): void {
    if (this.count + rows > this.keys.length) {
      let capacity = this.keys.length;
      while (capacity < this.count + rows) capacity *= 2;
      const grownKeys = new Uint32Array(capacity);
      grownKeys.set(this.keys.subarray(0, this.count));
      const grownVectors = new Float32Array(capacity * this.dimensions);
      grownVectors.set(this.vectors.subarray(0, this.count * this.dimensions));
      this.keys = grownKeys;
      this.vectors = grownVectors;
    }
    this.keys.set(keys.subarray(0, rows), this.count);
    this.vectors.set(vectors.subarray(0, rows * this.dimensions), this.count * this.dimensions);
    this.count += rows;
  }
}

/**
 * A USearch HNSW index living in the wasm instance of a UsearchRuntime. Every method checks its input in
 * TypeScript, turns shim errors into thrown Errors, and survives traps: the runtime replaces the instance
 * and this index rebuilds itself from the retained bytes (plus rows added since). Call `dispose()` to free
 * the wasm memory it holds.
 */
export class AnnIndex implements InstanceBound {
  readonly #runtime: UsearchRuntime;
  readonly #source: IndexSource;
  #journal: AddJournal | undefined;
  #handle = 0;
  #generation = -1;
  #disposed = false;
  #expansionSearch: number;
  #dimensions = 0;
  #metric: AnnMetric = "cos";
  #scalar: AnnScalar = "f32";
  #connectivity = 0;

  private constructor(runtime: UsearchRuntime, source: IndexSource, expansionSearch: number) {
    this.#runtime = runtime;
    this.#source = source;
    this.#expansionSearch = expansionSearch;
  }

  /** A new, empty, mutable index. */
  static create(runtime: UsearchRuntime, options: AnnIndexOptions): AnnIndex {
    const resolved: Required<AnnIndexOptions> = {
      dimensions: options.dimensions,
      metric: options.metric ?? "cos",
      scalar: options.scalar ?? "f32",
      connectivity: options.connectivity ?? DEFAULT_CONNECTIVITY,
      expansionAdd: options.expansionAdd ?? DEFAULT_ADD_EXPANSION,
      expansionSearch: options.expansionSearch ?? DEFAULT_SEARCH_EXPANSION,
    };
    assertPositiveInteger(resolved.dimensions, "dimensions", 65_536);
    if (!(resolved.metric in METRIC_CODES)) throw new Error(`Unknown metric ${String(resolved.metric)}`);
    if (!(resolved.scalar in SCALAR_CODES)) throw new Error(`Unknown scalar kind ${String(resolved.scalar)}`);
    assertPositiveInteger(resolved.connectivity, "connectivity", 1024);
    if (resolved.connectivity < 2) throw new Error("connectivity must be at least 2");
    assertPositiveInteger(resolved.expansionAdd, "expansionAdd", MAX_EXPANSION);
    assertPositiveInteger(resolved.expansionSearch, "expansionSearch", MAX_EXPANSION);
    const index = new AnnIndex(runtime, { kind: "created", options: resolved }, resolved.expansionSearch);
    index.#journal = new AddJournal(resolved.dimensions);
    return index.#initialize("Creating an ANN index");
  }

  /** Loads bytes in USearch's format, as written by the native addon's `save` or by `serialize()`. */
  static load(runtime: UsearchRuntime, bytes: Uint8Array, options: AnnLoadOptions = {}): AnnIndex {
    assertIndexBytes(bytes);
    const mode = options.mode ?? "view";
    if (mode !== "view" && mode !== "copy") throw new Error(`Unknown load mode ${String(mode)}`);
    const expansionSearch = options.expansionSearch ?? DEFAULT_SEARCH_EXPANSION;
    assertPositiveInteger(expansionSearch, "expansionSearch", MAX_EXPANSION);
    const index = new AnnIndex(runtime, { kind: "loaded", bytes, mode }, expansionSearch);
    index.#initialize("Loading an ANN index");
    try {
      if (options.dimensions !== undefined && options.dimensions !== index.dimensions) {
        throw new Error(`ANN index has ${index.dimensions} dimensions, expected ${options.dimensions}`);
      }
      if (options.metric !== undefined && options.metric !== index.metric) {
        throw new Error(`ANN index uses metric ${index.metric}, expected ${options.metric}`);
      }
    } catch (error) {
      index.dispose();
      throw error;
    }
    if (mode === "copy") index.#journal = new AddJournal(index.dimensions);
    if (options.retainForRecovery === false && index.#source.kind === "loaded") index.#source.bytes = undefined;
    return index;
  }

  get dimensions(): number {
    return this.#dimensions;
  }

  get metric(): AnnMetric {
    return this.#metric;
  }

  get scalar(): AnnScalar {
    return this.#scalar;
  }

  get connectivity(): number {
    return this.#connectivity;
  }

  get expansionSearch(): number {
    return this.#expansionSearch;
  }

  set expansionSearch(expansion: number) {
    assertPositiveInteger(expansion, "expansionSearch", MAX_EXPANSION);
    this.#expansionSearch = expansion;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Number of vectors in the index. */
  get size(): number {
    return this.#runtime.withRecovery("Reading the ANN index size", () =>
      this.#runtime.exports.ann_size(this.#nativeHandle()),
    );
  }

  /** Bytes of wasm memory this index holds (USearch's estimate plus a viewed buffer). */
  memoryUsage(): number {
    return this.#runtime.withRecovery("Reading the ANN index memory usage", () =>
      this.#runtime.exports.ann_memory_usage(this.#nativeHandle()),
    );
  }

  /** Adds rows of `vectors` (row-major, `dimensions` wide) under `keys` (item-table rows, unique). */
  add(keys: ArrayLike<number>, vectors: Float32Array): void {
    const journal = this.#journal;
    this.#assertUsable();
    if (!journal) throw new Error("This ANN index was loaded as a read-only view; load it with mode 'copy' to add");
    assertKeys(keys);
    assertVectorRows(vectors, this.#dimensions, keys.length);
    if (new Set(Array.from(keys)).size !== keys.length) throw new Error("Keys passed to add() must be unique");
    if (keys.length === 0) return;
    const keyArray = Uint32Array.from(keys);
    this.#runtime.withRecovery("Adding to an ANN index", () => {
      const handle = this.#nativeHandle();
      const runtime = this.#runtime;
      const keysPointer = runtime.allocate(keyArray.byteLength, "Cannot allocate wasm memory for keys");
      let vectorsPointer = 0;
      try {
        vectorsPointer = runtime.allocate(vectors.byteLength, "Cannot allocate wasm memory for vectors");
        runtime.write(keysPointer, keyArray);
        runtime.write(vectorsPointer, vectors);
        const added = runtime.exports.ann_add(handle, keysPointer, vectorsPointer, keyArray.length);
        journal.append(keyArray, vectors, added);
        if (added !== keyArray.length) throw runtime.lastError(`Adding row ${added} to the ANN index failed`);
      } finally {
        runtime.free(vectorsPointer);
        runtime.free(keysPointer);
      }
    });
  }

  /** The `k` nearest keys to `query`, closest first (fewer when the index holds fewer vectors). */
  search(query: Float32Array, k: number, options: AnnSearchOptions = {}): AnnSearchResult {
    this.#assertUsable();
    assertQueryVector(query, this.#dimensions);
    assertPositiveInteger(k, "k", MAX_K);
    const expansion = options.expansion ?? this.#expansionSearch;
    assertPositiveInteger(expansion, "expansion", MAX_EXPANSION);
    return this.#runtime.withRecovery("Searching an ANN index", () => {
      const handle = this.#nativeHandle();
      const runtime = this.#runtime;
      const queryBytes = query.byteLength;
      const base = runtime.scratch(queryBytes + 8 * k);
      const keysPointer = base + queryBytes;
      const distancesPointer = keysPointer + 4 * k;
      runtime.write(base, query);
      const found = runtime.exports.ann_search(
        handle,
        base,
        k,
        expansion,
        options.exact ? 1 : 0,
        keysPointer,
        distancesPointer,
      );
      if (found < 0) throw runtime.lastError("ANN search failed");
      return { keys: runtime.readUint32(keysPointer, found), distances: runtime.readFloat32(distancesPointer, found) };
    });
  }

  /** The index in USearch's file format; loads natively (`Index.load`) and in wasm alike. */
  serialize(): Uint8Array {
    this.#assertUsable();
    return this.#runtime.withRecovery("Serializing an ANN index", () => {
      const handle = this.#nativeHandle();
      const runtime = this.#runtime;
      const length = runtime.exports.ann_serialized_length(handle);
      if (length < 0) throw runtime.lastError("Cannot size the serialized ANN index");
      const pointer = runtime.allocate(length, "Cannot allocate wasm memory to serialize the ANN index");
      try {
        const written = runtime.exports.ann_serialize(handle, pointer, length);
        if (written < 0) throw runtime.lastError("Serializing the ANN index failed");
        return runtime.readBytes(pointer, written);
      } finally {
        runtime.free(pointer);
      }
    });
  }

  /** Frees the wasm memory of this index. Idempotent; any later call throws. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#handle !== 0 && this.#generation === this.#runtime.generation) {
      this.#runtime.exports.ann_destroy(this.#handle);
    }
    this.#handle = 0;
    this.#journal = undefined;
    if (this.#source.kind === "loaded") this.#source.bytes = undefined;
    this.#runtime.unbind(this);
  }

  /** @internal Called by the runtime: the native index vanished with the old instance. */
  instanceReplaced(): void {
    this.#handle = 0;
  }

  #initialize(what: string): this {
    this.#runtime.withRecovery(what, () => this.#nativeHandle());
    this.#runtime.bind(this);
    return this;
  }

  #assertUsable(): void {
    if (this.#disposed) throw new Error("This ANN index was disposed");
  }

  /** The native handle for the current instance, rebuilding the index there if a trap replaced it. */
  #nativeHandle(): number {
    this.#assertUsable();
    const runtime = this.#runtime;
    if (this.#handle !== 0 && this.#generation === runtime.generation) return this.#handle;
    const handle = this.#buildNative();
    try {
      this.#replayJournal(handle);
    } catch (error) {
      // After a trap the instance is discarded whole; otherwise free the half-built index.
      if (!(error instanceof wasmApi.RuntimeError)) runtime.exports.ann_destroy(handle);
      throw error;
    }
    this.#handle = handle;
    this.#generation = runtime.generation;
    return handle;
  }

  #buildNative(): number {
    const runtime = this.#runtime;
    const exports = runtime.exports;
    const source = this.#source;
    let handle: number;
    if (source.kind === "created") {
      const options = source.options;
      handle = exports.ann_create(
        options.dimensions,
        METRIC_CODES[options.metric],
        SCALAR_CODES[options.scalar],
        options.connectivity,
        options.expansionAdd,
        options.expansionSearch,
      );
      if (handle === 0) throw runtime.lastError("Cannot create the ANN index");
    } else {
      const bytes = source.bytes;
      if (!bytes) {
        throw new AnnIndexLostError(
          "This ANN index was lost when its wasm instance trapped (loaded with retainForRecovery: false); load it again",
        );
      }
      const pointer = runtime.allocate(bytes.byteLength, `Cannot allocate ${bytes.byteLength} bytes of wasm memory`);
      runtime.write(pointer, bytes);
      if (source.mode === "view") {
        handle = exports.ann_load_view(pointer, bytes.byteLength); // takes ownership of `pointer`
      } else {
        handle = exports.ann_load_copy(pointer, bytes.byteLength);
        runtime.free(pointer);
      }
      if (handle === 0) throw runtime.lastError("Cannot load the ANN index");
    }
    this.#dimensions = exports.ann_dimensions(handle);
    this.#metric = metricFromCode(exports.ann_metric(handle));
    this.#scalar = scalarFromCode(exports.ann_scalar(handle));
    this.#connectivity = exports.ann_connectivity(handle);
    return handle;
  }

  #replayJournal(handle: number): void {
    const journal = this.#journal;
    if (!journal || journal.count === 0) return;
    const runtime = this.#runtime;
    const keys = journal.keys.subarray(0, journal.count);
    const vectors = journal.vectors.subarray(0, journal.count * this.#dimensions);
    const keysPointer = runtime.allocate(keys.byteLength, "Cannot allocate wasm memory to replay keys");
    const vectorsPointer = runtime.allocate(vectors.byteLength, "Cannot allocate wasm memory to replay vectors");
    try {
      runtime.write(keysPointer, keys);
      runtime.write(vectorsPointer, vectors);
      const added = runtime.exports.ann_add(handle, keysPointer, vectorsPointer, keys.length);
      if (added !== keys.length) throw runtime.lastError("Replaying added rows into the rebuilt ANN index failed");
    } finally {
      runtime.free(vectorsPointer);
      runtime.free(keysPointer);
    }
  }
}
