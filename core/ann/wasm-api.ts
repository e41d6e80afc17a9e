// The part of the WebAssembly JS API this binding uses, typed structurally. The Node-side tsconfig has no
// WebAssembly declarations (they live in the DOM/WebWorker libs), while core and the Worker compile with
// them; a structural type works under all three and the runtime object is the same global everywhere.

/** A compiled module: workerd's `import m from "x.wasm"`, or `new WebAssembly.Module(bytes)` in Node. */
export type WasmModule = object;

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

export type WasmImports = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

interface WasmApi {
  readonly Module: {
    new (bytes: Uint8Array): WasmModule;
    exports(module: WasmModule): { readonly name: string; readonly kind: string }[];
    imports(module: WasmModule): { readonly module: string; readonly name: string; readonly kind: string }[];
  };
  readonly Instance: new (module: WasmModule, imports: WasmImports) => WasmInstance;
  readonly Memory: abstract new (...args: never[]) => WasmMemory;
  /** Thrown by traps: `unreachable`, out-of-bounds access, stack overflow, and our proc_exit stub. */
  readonly RuntimeError: new (message?: string) => Error;
}

export const wasmApi: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
