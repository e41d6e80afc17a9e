// onnxruntime-web inside workerd.
//
// workerd refuses to compile WebAssembly from bytes at run time; wasm must arrive as a module import, which wrangler
// (and vitest-pool-workers) bundle as a precompiled WebAssembly.Module ("CompiledWasm"). ORT's emscripten loader
// always compiles from bytes, so:
//  1. `onnxruntime-web/wasm` resolves (import condition) to ort.wasm.bundle.min.mjs, which embeds the emscripten
//     loader statically, so nothing is dynamically imported from a URL (import.meta.url is unusable in a Worker).
//  2. We set env.wasm.wasmBinary to a small sentinel ArrayBuffer. ORT then uses the embedded loader (allowed only
//     single-threaded when the script URL is unknown) and emscripten skips fetch/instantiateStreaming and calls
//     WebAssembly.instantiate(new Uint8Array(sentinel), imports).
//  3. While the first session is created, WebAssembly.instantiate is wrapped: a call whose bytes are exactly that
//     sentinel buffer instantiates the precompiled module instead; every other call goes to the original function.
//     The wrapper is removed as soon as that first create settles.
// numThreads = 1 (no pthread workers in workerd) and proxy = false (no proxy Worker).
import * as ort from "onnxruntime-web/wasm";
import ortWasmModule from "onnxruntime-web/ort-wasm-simd-threaded.wasm";
import { createOrtAdapter } from "../../core/inference/ort-session";
import type { OnnxRuntimeAdapter } from "../../core/inference/types";

const SENTINEL_BYTES = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x6f, 0x72, 0x74, 0x21]); // "\0asm" + "ort!"

let wasmReady: Promise<void> | undefined;
/** The runtime's linear memory, kept from its instantiation: wasm memory only grows, and it counts toward the isolate's. */
let ortMemory: WebAssembly.Memory | undefined;

/** Bytes of onnxruntime-web's wasm memory in this isolate; undefined before its first session. */
export function onnxruntimeWasmMemoryBytes(): number | undefined {
  return ortMemory?.buffer.byteLength;
}

/** The instance's memory: exported, or (threaded emscripten builds) created by the loader and passed in its imports. */
function linearMemoryOf(instance: WebAssembly.Instance, imports: WebAssembly.Imports | undefined): WebAssembly.Memory | undefined {
  const candidates = [...Object.values(instance.exports), ...Object.values(imports ?? {}).flatMap((module) => Object.values(module))];
  return candidates.find((value): value is WebAssembly.Memory => value instanceof WebAssembly.Memory);
}

async function withPrecompiledWasm<T>(create: () => Promise<T>): Promise<T> {
  if (wasmReady !== undefined) {
    await wasmReady.catch(() => undefined);
    return create();
  }
  const sentinel = SENTINEL_BYTES.slice().buffer;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = sentinel;

  const originalInstantiate = WebAssembly.instantiate;
  const isSentinel = (source: unknown) =>
    source === sentinel || (ArrayBuffer.isView(source) && source.buffer === sentinel);
  const patched = function (this: unknown, source: unknown, imports?: WebAssembly.Imports) {
    if (isSentinel(source)) {
      return originalInstantiate(ortWasmModule, imports).then((instance) => {
        ortMemory = linearMemoryOf(instance, imports);
        return { instance, module: ortWasmModule };
      });
    }
    return Reflect.apply(originalInstantiate, WebAssembly, [source, imports]);
  } as typeof WebAssembly.instantiate;
  WebAssembly.instantiate = patched;

  const first = create();
  wasmReady = first.then(
    () => undefined,
    () => undefined,
  );
  try {
    return await first;
  } finally {
    if (WebAssembly.instantiate === patched) WebAssembly.instantiate = originalInstantiate;
  }
}

/**
 * The onnxruntime-web adapter for workerd: wasm SIMD, single thread, graph optimisations on ("all").
 * Create it once per isolate (module scope is fine); the wasm runtime initialises on the first createSession(),
 * which must run inside a request or test (workerd forbids async I/O at global scope).
 */
export function createWorkerdOrtAdapter(): OnnxRuntimeAdapter {
  return createOrtAdapter(ort, {
    name: "onnxruntime-web/workerd",
    sessionOptions: { executionProviders: ["wasm"], graphOptimizationLevel: "all" },
    aroundCreate: withPrecompiledWasm,
  });
}
