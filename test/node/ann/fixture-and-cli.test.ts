import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { AnnIndex } from "../../../core/ann";
import { verifyInWasm } from "../../../scripts/ann/build-index";
import { buildAnnIndexNative, loadNativeIndex } from "../../../scripts/ann/native";
import { TINY_FIXTURE_PATH, renderTinyFixture } from "../../../scripts/ann/make-fixture";
import { lowRankVectors } from "../../../scripts/ann/synthetic";
import { createNodeUsearchRuntime } from "../../../scripts/ann/usearch-wasm";
import {
  TINY_DIMS,
  TINY_INDEX_BASE64,
  TINY_K,
  TINY_NATIVE_NEIGHBOURS,
  TINY_QUERIES,
  TINY_ROWS,
  TINY_VECTORS,
} from "../../fixtures/ann/tiny-index";

describe("test/fixtures/ann/tiny-index.ts", () => {
  it("is what scripts/ann/make-fixture.ts generates (the native build is deterministic single-threaded)", () => {
    expect(readFileSync(TINY_FIXTURE_PATH, "utf8")).toBe(renderTinyFixture());
  });

  it("holds the listed vectors, and loads in wasm with the native neighbours", () => {
    const bytes = Uint8Array.from(Buffer.from(TINY_INDEX_BASE64, "base64"));
    const stored = new Float32Array(bytes.slice(8, 8 + TINY_ROWS * TINY_DIMS * 4).buffer);
    expect(Array.from(stored)).toEqual(Array.from(TINY_VECTORS));
    const index = AnnIndex.load(createNodeUsearchRuntime(), bytes, { dimensions: TINY_DIMS });
    TINY_NATIVE_NEIGHBOURS.forEach((expected, q) => {
      const query = TINY_QUERIES.subarray(q * TINY_DIMS, (q + 1) * TINY_DIMS);
      expect(Array.from(index.search(query, TINY_K).keys)).toEqual(expected);
    });
  });
});

describe("scripts/ann/build-index.ts", () => {
  const directory = mkdtempSync(join(tmpdir(), "ann-cli-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  const script = fileURLToPath(new URL("../../../scripts/ann/build-index.ts", import.meta.url));
  const tsx = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url));
  const dims = 12;
  const vectors = lowRankVectors({ rows: 1500, dims, seed: 51 });
  const embeddings = join(directory, "items.f32");
  writeFileSync(embeddings, new Uint8Array(vectors.buffer));

  function run(args: string[]) {
    return spawnSync(tsx, [script, ...args], { encoding: "utf8", timeout: 60_000 });
  }

  it("builds an index from raw float32 rows that matches buildAnnIndexNative and loads in wasm", () => {
    const out = join(directory, "items.usearch");
    const result = run(["--embeddings", embeddings, "--dims", String(dims), "--out", out, "--threads", "1"]);
    expect(result.stderr.replace(/^npm warn.*\n/gm, "")).toBe("");
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/1500 rows x 12 dims, cos\/f32, connectivity 16/);
    const written = new Uint8Array(readFileSync(out));
    expect(Buffer.from(written).equals(Buffer.from(buildAnnIndexNative(vectors, dims, { threads: 1 })))).toBe(true);
    const index = AnnIndex.load(createNodeUsearchRuntime(), written);
    const native = loadNativeIndex(written, { dims });
    const query = vectors.subarray(0, dims);
    expect(Array.from(index.search(query, 20).keys)).toEqual(Array.from(native.search(query, 20, 1).keys, Number));
  }, 60_000);

  it("--connectivity and --metric reach the index", () => {
    const out = join(directory, "l2.usearch");
    const result = run(["--embeddings", embeddings, "--dims", String(dims), "--out", out, "--metric", "l2sq", "--connectivity", "8"]);
    expect(result.status, result.stderr).toBe(0);
    const index = AnnIndex.load(createNodeUsearchRuntime(), new Uint8Array(readFileSync(out)));
    expect(index.metric).toBe("l2sq");
    expect(index.connectivity).toBe(8);
  }, 60_000);

  it("the self-check refuses an index whose rows are not the given vectors, and passes the built one", () => {
    const bytes = buildAnnIndexNative(vectors, dims, { metric: "l2sq", threads: 2 });
    expect(() => verifyInWasm(bytes, vectors, dims, "l2sq")).not.toThrow();
    const others = lowRankVectors({ rows: 1500, dims, seed: 52 });
    expect(() => verifyInWasm(bytes, others, dims, "l2sq")).toThrow(/self-check failed: \d+ of 32 sampled rows missed/);
  }, 60_000);

  it.each([
    [["--dims", "12", "--out", "x"], /--embeddings, --dims and --out are required/],
    [["--embeddings", "EMB", "--dims", "7", "--out", "x"], /not a whole number of 7-d float32 rows/],
    [["--embeddings", "EMB", "--dims", "0", "--out", "x"], /--dims must be a positive integer/],
    [["--embeddings", "EMB", "--dims", "12", "--out", "x", "--metric", "dot"], /--metric must be one of cos, ip, l2sq/],
  ])("rejects bad arguments with exit 2 and a clear message: %s", (args, message) => {
    const result = run(args.map((arg) => (arg === "EMB" ? embeddings : arg)));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/usage: tsx scripts\/ann\/build-index.ts/);
  }, 60_000);
});
