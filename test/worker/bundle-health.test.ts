// The Worker's /health reports the isolate's bundle: degraded without one, the version once loaded, a switch to a
// newly activated version without a restart, and a failed newer version while the older one keeps serving.
import { env } from "cloudflare:workers";
import { createExecutionContext, reset, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import packageJson from "../../package.json";
import { ACTIVE_KEY } from "../../core/bundle/kv-layout";
import { inject } from "vitest";
import "../support/fixture-types";
import { fixtureFiles } from "./setup/seed-bundle";
import { publishBundle } from "../../core/bundle/store";
import { isItemTowerFile } from "../../core/live-items/embed";
import { workersKvWriter } from "../../worker/bundle/kv";
import worker from "../../worker/index";

interface HealthBody {
  status: "ok" | "degraded";
  version: string;
  bundle: { version: string; created_at: string; loaded_at: string; load_ms: number; files: number; bytes: number; loading: string | null; last_failure: { version: string | null; reasons: string[] } | null } | null;
  degraded: string[];
  isolate: { wasm_memory_bytes: { onnxruntime: number | null; ann: number | null } };
}

/** A runtime's memory once it has started: a whole number of 64-KiB wasm pages. */
const wasmPages = expect.toSatisfy((bytes: unknown) => typeof bytes === "number" && bytes > 0 && bytes % 65_536 === 0);

// Check `bundle/active` on every request, so the test needs no clock.
const testEnv = { ...env, BUNDLE_REFRESH_SECONDS: "0" } as Env;

/** One request to /health; background work it started has finished when this returns. */
async function health(): Promise<HealthBody> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request("http://ranker.test/health"), testEnv, ctx);
  await waitOnExecutionContext(ctx);
  expect(response.status).toBe(200);
  return (await response.json()) as HealthBody;
}

/** Publishes the (real) fixture bundle under `version`, in small chunks so reassembly is exercised too. */
// stored as they are (no gzip), so step 2 can swap a file's bytes for others of the same size
async function publish(version: string) {
  const manifest = { ...(inject("fixtureBundle").manifest as Record<string, unknown>), version };
  await publishBundle(workersKvWriter(env.BUNDLES), manifest, fixtureFiles(), { chunkBytes: 256 * 1024, compress: false });
}
/** What the Worker holds of the fixture: every file but the item towers, which live items read from KV on first need. */
const heldFiles = () => [...fixtureFiles()].filter(([path]) => !isItemTowerFile(path));
const fixtureBytes = () => heldFiles().reduce((sum, [, bytes]) => sum + bytes.byteLength, 0);

beforeAll(async () => {
  await reset();
});

describe("GET /health and the model bundle", () => {
  it("walks through degraded, loaded, switched, and a failed newer version", async () => {
    // 1. Nothing published: degraded, with the reason.
    const empty = await health();
    expect(empty).toEqual({
      status: "degraded",
      version: packageJson.version,
      bundle: null,
      degraded: [`no active bundle: the KV key ${ACTIVE_KEY} is missing (publish one with npm run publish)`],
      // whatever earlier requests of this isolate started
      isolate: { wasm_memory_bytes: { onnxruntime: expect.toSatisfy((bytes: unknown) => bytes === null || typeof bytes === "number"), ann: expect.toSatisfy((bytes: unknown) => bytes === null || typeof bytes === "number") } },
    });

    // 2. The active version is corrupt (a file's hash is wrong): still degraded, and /health says which file.
    await publish("v0");
    const popular = fixtureFiles().get("lists/popular.json") as Uint8Array;
    const tampered = popular.slice();
    tampered[0] = (tampered[0] as number) ^ 1; // same size, other bytes
    await env.BUNDLES.put("bundle/v0/files/lists/popular.json", tampered);
    const corrupt = await health();
    expect(corrupt.status).toBe("degraded");
    expect(corrupt.bundle).toBeNull();
    expect(corrupt.degraded).toEqual([expect.stringMatching(/^bundle v0 cannot be loaded: lists\/popular.json: sha256 [0-9a-f]+ does not match/)]);

    // 3. A good version: ok, with what was loaded.
    await publish("v1");
    const loaded = await health();
    expect(loaded).toMatchObject({ status: "ok", degraded: [], bundle: { version: "v1", files: heldFiles().length, bytes: fixtureBytes(), loading: null, last_failure: null } });
    expect(Date.parse(loaded.bundle?.loaded_at ?? "")).not.toBeNaN();
    // serving a bundle started both wasm runtimes: their memories are reported
    expect(loaded.isolate.wasm_memory_bytes).toEqual({ onnxruntime: wasmPages, ann: wasmPages });

    // 4. A new version: the request that notices it still answers with v1 (loading in the background)…
    await publish("v2");
    const ctx = createExecutionContext();
    const noticing = (await (await worker.fetch(new Request("http://ranker.test/health"), testEnv, ctx)).json()) as HealthBody;
    expect(noticing.bundle?.version).toBe("v1");
    await waitOnExecutionContext(ctx);
    // …and the next one sees v2, without any restart.
    const switched = await health();
    expect(switched.bundle).toMatchObject({ version: "v2", bytes: fixtureBytes() });
    // a wasm memory never shrinks
    expect(switched.isolate.wasm_memory_bytes.onnxruntime).toBeGreaterThanOrEqual(loaded.isolate.wasm_memory_bytes.onnxruntime as number);
    expect(switched.isolate.wasm_memory_bytes.ann).toBeGreaterThanOrEqual(loaded.isolate.wasm_memory_bytes.ann as number);

    // 5. A broken newer version (no manifest): v2 keeps serving, status ok, the failure is reported.
    await env.BUNDLES.put(ACTIVE_KEY, "v3");
    await health(); // notices v3 and fails in the background
    const afterFailure = await health();
    expect(afterFailure.status).toBe("ok");
    expect(afterFailure.bundle).toMatchObject({
      version: "v2",
      last_failure: { version: "v3", reasons: ["bundle v3 cannot be loaded: manifest missing (no KV key bundle/v3/manifest.json)"] },
    });
  });
});
