// Measurement helpers shared by the benchmark sections: percentiles, interleaved side-by-side timing, wasm memory
// accounting, and a description of the machine and package versions the numbers came from.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";

const REPO_NODE_MODULES = join(import.meta.dirname, "..", "..", "node_modules");

export interface Percentiles {
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly samples: number;
}

/** Nearest-rank percentiles of `samples` (milliseconds). Throws on an empty or non-finite sample set. */
export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) throw new Error("percentiles: no samples");
  if (samples.some((value) => !Number.isFinite(value))) throw new Error("percentiles: a sample is not a finite number");
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
  return { p50_ms: at(0.5), p99_ms: at(0.99), samples: sorted.length };
}

export function median(samples: readonly number[]): number {
  return percentiles(samples).p50_ms;
}

/** Collects named samples; `time` measures one synchronous or asynchronous call. */
export class Samples {
  private readonly byName = new Map<string, number[]>();

  add(name: string, ms: number): void {
    let list = this.byName.get(name);
    if (!list) this.byName.set(name, (list = []));
    list.push(ms);
  }

  async time<T>(name: string, run: () => T | Promise<T>, record = true): Promise<T> {
    const started = performance.now();
    const result = await run();
    if (record) this.add(name, performance.now() - started);
    return result;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  summary(): Record<string, Percentiles> {
    return Object.fromEntries([...this.byName].filter(([, list]) => list.length > 0).map(([name, list]) => [name, percentiles(list)]));
  }
}

/**
 * Side by side on a noisy machine: runs every contender in rounds of `block` calls, cycling through them (and
 * rotating which goes first), so that background load hits all alike. Returns each contender's samples.
 */
export async function interleaved(contenders: readonly { readonly name: string; run(i: number): unknown }[], options: { rounds: number; block: number; warmup: number }): Promise<Map<string, number[]>> {
  for (const contender of contenders) for (let i = 0; i < options.warmup; i++) await contender.run(i);
  const samples = new Map(contenders.map((contender) => [contender.name, [] as number[]]));
  for (let round = 0; round < options.rounds; round++) {
    for (let c = 0; c < contenders.length; c++) {
      const contender = contenders[(round + c) % contenders.length] as (typeof contenders)[number];
      const list = samples.get(contender.name) as number[];
      for (let i = 0; i < options.block; i++) {
        const started = performance.now();
        await contender.run(round * options.block + i);
        list.push(performance.now() - started);
      }
    }
  }
  return samples;
}

// --- wasm memory ------------------------------------------------------------------------------------------------

// The Node-side tsconfig has no WebAssembly declarations (core/ann/wasm-api.ts explains), so the slice used here
// is typed structurally.
interface TrackedMemory {
  readonly buffer: ArrayBuffer;
}
type AnyFunction = (...args: unknown[]) => unknown;
interface WasmGlobal {
  instantiate: AnyFunction;
  instantiateStreaming?: AnyFunction;
  Instance: AnyFunction & { prototype: object };
  Memory: AnyFunction & { prototype: object };
}

const wasmGlobal = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
const trackedMemories = new Set<TrackedMemory>();
let tracking = false;

function isMemory(value: unknown): value is TrackedMemory {
  return value instanceof (wasmGlobal.Memory as unknown as new () => object);
}

/**
 * Records every WebAssembly.Memory created or exported from now on (onnxruntime-web's and USearch's), so that the
 * isolate's wasm memory can be read later: the Worker's 128 MB limit counts it beside the JS heap. Call before the
 * first wasm instance is created.
 */
export function trackWasmMemories(): void {
  if (tracking) return;
  tracking = true;
  const collect = (instance: unknown) => {
    const exports = (instance as { exports?: Record<string, unknown> } | undefined)?.exports;
    if (exports) for (const value of Object.values(exports)) if (isMemory(value)) trackedMemories.add(value);
  };
  const instantiate = wasmGlobal.instantiate.bind(wasmGlobal);
  wasmGlobal.instantiate = async (...args: unknown[]) => {
    const result = (await instantiate(...args)) as { instance?: unknown };
    collect(result.instance ?? result);
    return result;
  };
  if (typeof wasmGlobal.instantiateStreaming === "function") {
    const streaming = wasmGlobal.instantiateStreaming.bind(wasmGlobal);
    wasmGlobal.instantiateStreaming = async (...args: unknown[]) => {
      const result = (await streaming(...args)) as { instance: unknown };
      collect(result.instance);
      return result;
    };
  }
  const OriginalInstance = wasmGlobal.Instance as unknown as new (...args: unknown[]) => object;
  const TrackedInstance = function (...args: unknown[]) {
    const instance = new OriginalInstance(...args);
    collect(instance);
    return instance;
  };
  TrackedInstance.prototype = OriginalInstance.prototype;
  wasmGlobal.Instance = TrackedInstance as unknown as WasmGlobal["Instance"];
  const OriginalMemory = wasmGlobal.Memory as unknown as new (...args: unknown[]) => TrackedMemory;
  const TrackedMemoryConstructor = function (...args: unknown[]) {
    const memory = new OriginalMemory(...args);
    trackedMemories.add(memory);
    return memory;
  };
  TrackedMemoryConstructor.prototype = OriginalMemory.prototype;
  wasmGlobal.Memory = TrackedMemoryConstructor as unknown as WasmGlobal["Memory"];
}

/** Bytes of every tracked wasm memory (a memory only grows, so this is also its high-water mark). */
export function wasmMemoryBytes(): number {
  let total = 0;
  for (const memory of trackedMemories) total += memory.buffer.byteLength;
  return total;
}

export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

// --- machine --------------------------------------------------------------------------------------------------

export interface MachineInfo {
  readonly cores: number;
  readonly cpu: string;
  readonly memory_gib: number;
  readonly node: string;
  readonly platform: string;
  /** 1/5/15-minute load averages when the run started: above ~1 other work shared the cores. */
  readonly load_average: readonly number[];
  readonly packages: Record<string, string>;
}

const BENCH_PACKAGES = ["onnxruntime-web", "onnxruntime-node", "usearch", "wrangler", "miniflare", "autocannon", "hono", "typescript"] as const;

/** The package.json of package `name` that contains the resolved file `entry`. */
function packageJsonAbove(entry: string, name: string): string {
  for (let directory = dirname(entry); directory !== dirname(directory); directory = dirname(directory)) {
    try {
      const path = join(directory, "package.json");
      if ((JSON.parse(readFileSync(path, "utf8")) as { name?: string }).name === name) return path;
    } catch {
      // no package.json here: keep walking up
    }
  }
  throw new Error(`no package.json of ${name} above ${entry}`);
}

export function machineInfo(): MachineInfo {
  const require = createRequire(import.meta.url);
  const packages: Record<string, string> = {};
  for (const name of BENCH_PACKAGES) {
    try {
      // read the installed package.json directly: several packages do not export it
      const path = name === "miniflare" ? packageJsonAbove(createRequire(require.resolve("wrangler")).resolve("miniflare"), name) : join(REPO_NODE_MODULES, name, "package.json");
      packages[name] = (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
    } catch {
      packages[name] = "unavailable";
    }
  }
  try {
    const wranglerRequire = createRequire(require.resolve("wrangler"));
    const miniflareRequire = createRequire(wranglerRequire.resolve("miniflare"));
    packages.workerd = (JSON.parse(readFileSync(packageJsonAbove(miniflareRequire.resolve("workerd"), "workerd"), "utf8")) as { version: string }).version;
  } catch {
    packages.workerd = "unavailable";
  }
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? "unknown",
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    load_average: loadavg().map((value) => Math.round(value * 100) / 100),
    packages,
  };
}

export function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}
