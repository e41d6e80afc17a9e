// The committed wasm/usearch/usearch.wasm must be exactly what wasm/usearch/build.sh produces from the
// sources in the repository, so nobody has to trust an opaque binary.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { wasmApi } from "../../../core/ann";

const BUILD_SCRIPT = fileURLToPath(new URL("../../../wasm/usearch/build.sh", import.meta.url));
const COMMITTED_WASM = fileURLToPath(new URL("../../../wasm/usearch/usearch.wasm", import.meta.url));
const REQUIRED_TOOLS = ["clang++-14", "wasm-ld-14", "wasm-opt", "wasm-dis"];

function missingTools(): string[] {
  return REQUIRED_TOOLS.filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
}

const missing = missingTools();
if (missing.length > 0) {
  console.warn(
    `[ann] skipping the reproducible wasm build check: ${missing.join(", ")} not installed ` +
      "(apt-get install -y clang-14 lld-14 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32 libclang-rt-14-dev-wasm32 wasi-libc binaryen)",
  );
}

describe("wasm/usearch/build.sh", () => {
  it.skipIf(missing.length > 0)("rebuilds usearch.wasm byte-for-byte identical to the committed file", () => {
    const directory = mkdtempSync(join(tmpdir(), "usearch-wasm-"));
    try {
      const rebuilt = join(directory, "usearch.wasm");
      execFileSync("bash", [BUILD_SCRIPT, rebuilt], { stdio: ["ignore", "pipe", "pipe"] });
      const expected = readFileSync(COMMITTED_WASM);
      const actual = readFileSync(rebuilt);
      expect(actual.length).toBe(expected.length);
      expect(actual.equals(expected)).toBe(true);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 120_000);

  it("committed usearch.wasm uses SIMD128 and exports the shim's C ABI", () => {
    const module = new wasmApi.Module(readFileSync(COMMITTED_WASM));
    const exports = wasmApi.Module.exports(module).map((entry) => entry.name);
    expect(exports).toEqual(expect.arrayContaining(["memory", "_initialize", "ann_create", "ann_load_view", "ann_search"]));
    const imports = wasmApi.Module.imports(module);
    expect(new Set(imports.map((entry) => entry.module))).toEqual(new Set(["wasi_snapshot_preview1"]));
  });

  it.skipIf(missing.length > 0)("committed usearch.wasm has vectorized float kernels (f32x4 arithmetic)", () => {
    const text = execFileSync("wasm-dis", [COMMITTED_WASM], { maxBuffer: 64 * 2 ** 20 }).toString();
    expect(text.match(/f32x4\.mul/g)?.length ?? 0).toBeGreaterThan(10);
    expect(text.match(/f32x4\.add/g)?.length ?? 0).toBeGreaterThan(10);
  });
});
