// The C ABI of wasm/usearch/usearch_shim.cpp as TypeScript sees it, and the few WASI imports it needs.
import { wasmApi, type WasmImports, type WasmMemory, type WasmModule } from "./wasm-api";

export type AnnMetric = "cos" | "ip" | "l2sq";
export type AnnScalar = "f32" | "f16" | "bf16" | "i8" | "f64";

// Codes shared with the `ann_metric_code` / `ann_scalar_code` enums of the shim.
export const METRIC_CODES: Readonly<Record<AnnMetric, number>> = { cos: 0, ip: 1, l2sq: 2 };
export const SCALAR_CODES: Readonly<Record<AnnScalar, number>> = { f32: 0, f16: 1, bf16: 2, i8: 3, f64: 4 };

export function metricFromCode(code: number): AnnMetric {
  const found = (Object.keys(METRIC_CODES) as AnnMetric[]).find((name) => METRIC_CODES[name] === code);
  if (!found) throw new Error(`USearch wasm reported unknown metric code ${code}`);
  return found;
}

export function scalarFromCode(code: number): AnnScalar {
  const found = (Object.keys(SCALAR_CODES) as AnnScalar[]).find((name) => SCALAR_CODES[name] === code);
  if (!found) throw new Error(`USearch wasm reported unknown scalar code ${code}`);
  return found;
}

/** Pointers and handles are wasm32 addresses: plain numbers, 0 meaning failure. */
type Pointer = number;

export interface UsearchExports {
  readonly memory: WasmMemory;
  _initialize(): void;
  ann_alloc(bytes: number): Pointer;
  ann_free(pointer: Pointer): void;
  ann_last_error(): Pointer;
  ann_debug_trap_after(calls: number): void;
  ann_create(
    dimensions: number,
    metric: number,
    scalar: number,
    connectivity: number,
    expansionAdd: number,
    expansionSearch: number,
  ): Pointer;
  ann_load_view(bytes: Pointer, length: number): Pointer;
  ann_load_copy(bytes: Pointer, length: number): Pointer;
  ann_destroy(handle: Pointer): void;
  ann_add(handle: Pointer, keys: Pointer, vectors: Pointer, count: number): number;
  ann_search(
    handle: Pointer,
    query: Pointer,
    wanted: number,
    expansion: number,
    exact: number,
    keysOut: Pointer,
    distancesOut: Pointer,
  ): number;
  ann_serialized_length(handle: Pointer): number;
  ann_serialize(handle: Pointer, destination: Pointer, capacity: number): number;
  ann_size(handle: Pointer): number;
  ann_dimensions(handle: Pointer): number;
  ann_connectivity(handle: Pointer): number;
  ann_expansion_search(handle: Pointer): number;
  ann_metric(handle: Pointer): number;
  ann_scalar(handle: Pointer): number;
  ann_memory_usage(handle: Pointer): number;
}

const EXPORTED_FUNCTIONS: readonly (keyof UsearchExports)[] = [
  "_initialize",
  "ann_alloc",
  "ann_free",
  "ann_last_error",
  "ann_debug_trap_after",
  "ann_create",
  "ann_load_view",
  "ann_load_copy",
  "ann_destroy",
  "ann_add",
  "ann_search",
  "ann_serialized_length",
  "ann_serialize",
  "ann_size",
  "ann_dimensions",
  "ann_connectivity",
  "ann_expansion_search",
  "ann_metric",
  "ann_scalar",
  "ann_memory_usage",
];

// WASI errno values (wasi_snapshot_preview1).
const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;
const ERRNO_NOSYS = 52;
const STDERR_LIMIT = 4096;

/**
 * The module imports ten wasi_snapshot_preview1 functions because libc's file and stdio code is linked in
 * (USearch can also save to paths). The shim only works on memory buffers, so:
 * - there are no preopened directories (`fd_prestat_get` answers EBADF, which ends libc's preopen scan),
 *   and every file call answers EBADF or ENOSYS;
 * - `fd_write` keeps what libc writes to stdout/stderr (abort messages) so a trap can report it;
 * - `proc_exit` means libc gave up (abort): it throws a RuntimeError, handled like any other trap.
 */
export class WasiStubs {
  private memory: WasmMemory | undefined;
  private stderrText = "";

  attach(memory: WasmMemory): void {
    this.memory = memory;
  }

  /** Text libc printed since the last call, e.g. an abort message before a trap. */
  takeOutput(): string {
    const text = this.stderrText;
    this.stderrText = "";
    return text;
  }

  imports(): WasmImports {
    const badFileDescriptor = () => ERRNO_BADF;
    return {
      wasi_snapshot_preview1: {
        fd_close: badFileDescriptor,
        fd_fdstat_get: badFileDescriptor,
        fd_filestat_get: badFileDescriptor,
        fd_pread: badFileDescriptor,
        fd_prestat_get: badFileDescriptor,
        fd_prestat_dir_name: badFileDescriptor,
        fd_seek: badFileDescriptor,
        path_open: () => ERRNO_NOSYS,
        fd_write: (fd: number, iovs: number, iovsLength: number, writtenOut: number) =>
          this.writeOutput(fd, iovs, iovsLength, writtenOut),
        proc_exit: (code: number) => {
          throw new wasmApi.RuntimeError(`USearch wasm called proc_exit(${code})`);
        },
      },
    };
  }

  private writeOutput(fd: number, iovs: number, iovsLength: number, writtenOut: number): number {
    if ((fd !== 1 && fd !== 2) || !this.memory) return ERRNO_BADF;
    const view = new DataView(this.memory.buffer);
    let written = 0;
    for (let i = 0; i < iovsLength; i++) {
      const base = view.getUint32(iovs + i * 8, true);
      const length = view.getUint32(iovs + i * 8 + 4, true);
      if (this.stderrText.length < STDERR_LIMIT) {
        const chunk = new Uint8Array(this.memory.buffer, base, Math.min(length, STDERR_LIMIT));
        this.stderrText += new TextDecoder().decode(chunk);
      }
      written += length;
    }
    view.setUint32(writtenOut, written, true);
    return ERRNO_SUCCESS;
  }
}

export interface UsearchInstance {
  readonly exports: UsearchExports;
  readonly wasi: WasiStubs;
}

/** Instantiates synchronously: workerd hands the module over precompiled, and Node compiles it once. */
export function instantiateUsearch(module: WasmModule): UsearchInstance {
  const wasi = new WasiStubs();
  const instance = new wasmApi.Instance(module, wasi.imports());
  const exports = instance.exports;
  if (!(exports.memory instanceof wasmApi.Memory)) {
    throw new Error("USearch wasm module does not export its memory; was it built by wasm/usearch/build.sh?");
  }
  for (const name of EXPORTED_FUNCTIONS) {
    if (typeof exports[name] !== "function") {
      throw new Error(`USearch wasm module lacks the export ${name}; rebuild it with npm run build:wasm`);
    }
  }
  const typed = exports as unknown as UsearchExports;
  wasi.attach(typed.memory);
  typed._initialize();
  return { exports: typed, wasi };
}
