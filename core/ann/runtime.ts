import { instantiateUsearch, type UsearchExports, type UsearchInstance } from "./abi";
import { wasmApi, type WasmModule } from "./wasm-api";

/** Counters that show whether the runtime is healthy: traps recovered, instances made, memory held. */
export interface UsearchRuntimeStats {
  /** Instances created so far, the first included; each trap adds one. */
  readonly instancesCreated: number;
  readonly trapsRecovered: number;
  /** Indexes created or loaded and not yet disposed. */
  readonly liveIndexes: number;
  /** Size of the current instance's linear memory; wasm memory never shrinks, so watch it for leaks. */
  readonly memoryBytes: number;
}

export interface UsearchRuntimeOptions {
  /** Told about every trap the runtime recovers from (e.g. to log it); `output` is what libc printed. */
  readonly onTrap?: (error: Error, output: string) => void;
}

/** Something that holds native state in the current instance and can rebuild it in a fresh one. */
export interface InstanceBound {
  /** Called after the instance was replaced; the old native state is gone with the old memory. */
  instanceReplaced(): void;
}

/**
 * Owns the USearch wasm instance. A trap (WebAssembly.RuntimeError) leaves an instance in an unknown
 * state, so the runtime throws it away, instantiates the module again, and retries the operation once;
 * indexes rebuild their native side in the new instance from what they retained (see AnnIndex).
 * All calls are synchronous, so no other operation can interleave with a recovery.
 */
export class UsearchRuntime {
  readonly #module: WasmModule;
  readonly #onTrap: ((error: Error, output: string) => void) | undefined;
  #instance: UsearchInstance;
  #generation = 0;
  #instancesCreated = 1;
  #trapsRecovered = 0;
  readonly #bound = new Set<InstanceBound>();
  #scratchPointer = 0;
  #scratchBytes = 0;

  /** `module`: the compiled wasm/usearch/usearch.wasm (a WebAssembly.Module). */
  constructor(module: WasmModule, options: UsearchRuntimeOptions = {}) {
    this.#module = module;
    this.#onTrap = options.onTrap;
    this.#instance = instantiateUsearch(module);
  }

  /** Changes whenever the instance is replaced; native handles are only valid for the generation they came from. */
  get generation(): number {
    return this.#generation;
  }

  get exports(): UsearchExports {
    return this.#instance.exports;
  }

  stats(): UsearchRuntimeStats {
    return {
      instancesCreated: this.#instancesCreated,
      trapsRecovered: this.#trapsRecovered,
      liveIndexes: this.#bound.size,
      memoryBytes: this.#instance.exports.memory.buffer.byteLength,
    };
  }

  /**
   * Fault injection for tests of the recovery path: the `calls`-th index call from now (create, load, add,
   * search, serialize) executes `unreachable` inside wasm. Fresh instances start disarmed.
   */
  debugTrapAfter(calls: number): void {
    if (!Number.isInteger(calls) || calls < 0) throw new Error(`debugTrapAfter expects a count >= 0, got ${calls}`);
    this.#instance.exports.ann_debug_trap_after(calls);
  }

  bind(owner: InstanceBound): void {
    this.#bound.add(owner);
  }

  unbind(owner: InstanceBound): void {
    this.#bound.delete(owner);
  }

  /**
   * Runs `attempt`; if it traps, replaces the instance and runs it once more. `attempt` must fetch its
   * native handles afresh each time (they are rebuilt lazily for the new generation).
   */
  withRecovery<T>(what: string, attempt: () => T): T {
    try {
      return attempt();
    } catch (error) {
      if (!(error instanceof wasmApi.RuntimeError)) throw error;
      const output = this.#instance.wasi.takeOutput();
      this.#replaceInstance();
      this.#trapsRecovered += 1;
      this.#onTrap?.(error, output);
    }
    try {
      return attempt();
    } catch (error) {
      if (!(error instanceof wasmApi.RuntimeError)) throw error;
      const output = this.#instance.wasi.takeOutput();
      this.#replaceInstance();
      throw new Error(
        `${what} trapped in USearch wasm again after a fresh instance: ${error.message}` +
          (output ? ` (wasm printed: ${output.trim()})` : ""),
        { cause: error },
      );
    }
  }

  /** The message the shim left for its last failing call, as an Error to throw. */
  lastError(context: string): Error {
    const exports = this.#instance.exports;
    const pointer = exports.ann_last_error();
    const bytes = new Uint8Array(exports.memory.buffer, pointer, 512);
    const end = bytes.indexOf(0);
    const message = new TextDecoder().decode(bytes.subarray(0, end < 0 ? bytes.length : end));
    return new Error(`${context}: ${message || "USearch wasm failed without a message"}`);
  }

  /** Allocates `bytes` in wasm memory; free it with `free`. Throws when wasm memory is exhausted. */
  allocate(bytes: number, context: string): number {
    const pointer = this.#instance.exports.ann_alloc(bytes);
    if (pointer === 0) throw this.lastError(context);
    return pointer;
  }

  free(pointer: number): void {
    if (pointer !== 0) this.#instance.exports.ann_free(pointer);
  }

  /** A reusable buffer for per-call arguments and results (queries, keys, distances); grows as needed. */
  scratch(bytes: number): number {
    if (bytes > this.#scratchBytes) {
      const grown = Math.max(bytes, 2 * this.#scratchBytes, 4096);
      this.free(this.#scratchPointer);
      this.#scratchPointer = 0;
      this.#scratchBytes = 0;
      this.#scratchPointer = this.allocate(grown, "Cannot allocate scratch memory for an ANN call");
      this.#scratchBytes = grown;
    }
    return this.#scratchPointer;
  }

  /** Copies bytes into wasm memory at `pointer`. */
  write(pointer: number, source: ArrayBufferView): void {
    const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    new Uint8Array(this.#instance.exports.memory.buffer, pointer, bytes.length).set(bytes);
  }

  /** Copies `length` bytes out of wasm memory (the view into memory would be invalidated by growth). */
  readBytes(pointer: number, length: number): Uint8Array {
    return new Uint8Array(this.#instance.exports.memory.buffer, pointer, length).slice();
  }

  readUint32(pointer: number, count: number): Uint32Array {
    return new Uint32Array(this.#instance.exports.memory.buffer, pointer, count).slice();
  }

  readFloat32(pointer: number, count: number): Float32Array {
    return new Float32Array(this.#instance.exports.memory.buffer, pointer, count).slice();
  }

  #replaceInstance(): void {
    this.#instance = instantiateUsearch(this.#module);
    this.#generation += 1;
    this.#instancesCreated += 1;
    this.#scratchPointer = 0;
    this.#scratchBytes = 0;
    for (const owner of this.#bound) owner.instanceReplaced();
  }
}
