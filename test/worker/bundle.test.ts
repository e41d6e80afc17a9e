// BundleCache inside workerd, against the real KV binding (BUNDLES from wrangler.toml), seeded with env.BUNDLES.put.
import { env } from "cloudflare:workers";
import { createExecutionContext, reset, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { ACTIVE_KEY, manifestKey } from "../../core/bundle/kv-layout";
import { packArrays, unpackArrays } from "../../core/bundle/packed";
import { patternBytes, sampleBundle } from "../../core/bundle/sample";
import { publishBundle, type BundleFiles } from "../../core/bundle/store";
import { BundleCache, type BundleState, type ReadyBundle } from "../../worker/bundle/cache";
import { workersKvWriter } from "../../worker/bundle/kv";

const kv = () => workersKvWriter(env.BUNDLES);
// These caches keep their own refresh interval: the test project's BUNDLE_REFRESH_SECONDS (0) must not override it.
const kvEnv = { ...env, BUNDLE_REFRESH_SECONDS: undefined } as Env;

async function publish(version: string, seed: number, options: { activate?: boolean; chunkBytes?: number } = {}) {
  const { manifest, files } = await sampleBundle(version, {
    "models/first-stage.onnx": patternBytes(5000, seed),
    "tables/items.bin": packArrays({ author: new Int32Array([seed, seed + 1]), score: new Float32Array([0.5, 0.25]) }, { seed }),
    "lists/popular.json": JSON.stringify([seed]),
  });
  await publishBundle(kv(), manifest, files, { chunkBytes: options.chunkBytes ?? 2048, activate: options.activate });
  return files;
}

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let time = start;
  return { now: () => time, advance: (seconds: number) => (time += seconds * 1000) };
}

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

/** A cache whose decode reads the packed table (as the funnel will) and counts its calls. */
function makeCache(time: ReturnType<typeof clock>, gate?: (bundle: BundleFiles) => Promise<void>) {
  const decoded: string[] = [];
  const cache = new BundleCache({
    refreshSeconds: 30,
    now: time.now,
    decode: async (bundle) => {
      decoded.push(bundle.version);
      await gate?.(bundle);
      const table = unpackArrays(bundle.files.get("tables/items.bin") as Uint8Array);
      return { authors: Array.from(table.arrays.author as Int32Array) };
    },
  });
  return { cache, decoded };
}

function ready<T>(state: BundleState<T>): ReadyBundle<T> {
  if (state.status !== "ready") throw new Error(`expected a ready bundle, got: ${state.reasons.join("; ")}`);
  return state;
}

function countingBindings() {
  let gets = 0;
  const counted = {
    get: (...args: Parameters<KVNamespace["get"]>) => {
      gets++;
      return (env.BUNDLES.get as (...a: unknown[]) => unknown)(...args);
    },
  } as unknown as KVNamespace;
  return { bindings: { BUNDLES: counted }, gets: () => gets };
}

beforeEach(async () => {
  await reset();
});

describe("BundleCache in workerd", () => {
  it("loads the active bundle once (chunks reassembled, decoded once) and then serves it from memory", async () => {
    const files = await publish("v1", 1);
    const time = clock();
    const { cache, decoded } = makeCache(time);
    const { bindings, gets } = countingBindings();
    const ctx = createExecutionContext();
    const first = ready(await cache.current(bindings, ctx));
    expect(first.version).toBe("v1");
    expect(first.decoded).toEqual({ authors: [1, 2] });
    expect(first.bundle.files.get("models/first-stage.onnx")).toEqual(files.get("models/first-stage.onnx")); // 3 chunks of 2048
    expect(first.bundle.manifest.kv_storage).toMatchObject({ chunks: { "models/first-stage.onnx": 3 } });
    const getsAfterLoad = gets();
    time.advance(29);
    const again = ready(await cache.current(bindings, ctx));
    expect(again).toBe(first);
    expect(gets()).toBe(getsAfterLoad); // no KV read at all within the refresh interval
    time.advance(2);
    expect(ready(await cache.current(bindings, ctx))).toBe(first);
    await waitOnExecutionContext(ctx);
    expect(gets()).toBe(getsAfterLoad + 1); // one read of bundle/active, same version: nothing reloaded
    expect(decoded).toEqual(["v1"]);
  });

  it("shares one in-flight load among concurrent requests", async () => {
    await publish("v1", 1);
    const { cache, decoded } = makeCache(clock());
    const ctx = createExecutionContext();
    const states = await Promise.all(Array.from({ length: 6 }, () => cache.current(kvEnv, ctx)));
    expect(new Set(states).size).toBe(1);
    expect(ready(states[0] as BundleState<unknown>).version).toBe("v1");
    expect(decoded).toEqual(["v1"]);
  });

  it("switches to a newly activated version in the background while in-flight requests keep the old one", async () => {
    const v1Files = await publish("v1", 1);
    const time = clock();
    const gate = deferred();
    const { cache, decoded } = makeCache(time, async (bundle) => {
      if (bundle.version === "v2") await gate.promise;
    });
    const ctx = createExecutionContext();
    const held = ready(await cache.current(kvEnv, ctx)); // a request that is still working with v1

    await publish("v2", 2);
    time.advance(10);
    expect(ready(await cache.current(kvEnv, ctx)).version).toBe("v1"); // not checked yet
    time.advance(21);
    const duringLoad = ready(await cache.current(kvEnv, ctx)); // starts the background load, answers at once
    expect(duringLoad.version).toBe("v1");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cache.snapshot().loadingVersion).toBe("v2");
    expect(ready(await cache.current(kvEnv, ctx)).version).toBe("v1"); // still the old one mid-load
    gate.release();
    await waitOnExecutionContext(ctx);

    const after = ready(await cache.current(kvEnv, createExecutionContext()));
    expect(after.version).toBe("v2");
    expect(after.decoded).toEqual({ authors: [2, 3] });
    expect(decoded).toEqual(["v1", "v2"]);
    // The in-flight request's reference is untouched by the swap.
    expect(held.version).toBe("v1");
    expect(held.decoded).toEqual({ authors: [1, 2] });
    expect(held.bundle.files.get("models/first-stage.onnx")).toEqual(v1Files.get("models/first-stage.onnx"));
  });

  describe("without a previous bundle, a failed load answers unavailable with reasons", () => {
    it("no active pointer", async () => {
      const { cache } = makeCache(clock());
      const state = await cache.current(kvEnv, createExecutionContext());
      expect(state).toEqual({ status: "unavailable", reasons: [`no active bundle: the KV key ${ACTIVE_KEY} is missing (publish one with npm run publish)`] });
    });

    it("missing manifest", async () => {
      await publish("v1", 1);
      await env.BUNDLES.delete(manifestKey("v1"));
      const { cache } = makeCache(clock());
      expect(await cache.current(kvEnv, createExecutionContext())).toEqual({
        status: "unavailable",
        reasons: ["bundle v1 cannot be loaded: manifest missing (no KV key bundle/v1/manifest.json)"],
      });
    });

    it("a file whose bytes do not match its sha256, and a truncated chunk", async () => {
      await publish("v1", 1);
      await env.BUNDLES.put("bundle/v1/files/lists/popular.json", "[7]");
      const chunk = (await env.BUNDLES.get("bundle/v1/files/models/first-stage.onnx#1", "arrayBuffer")) as ArrayBuffer;
      await env.BUNDLES.put("bundle/v1/files/models/first-stage.onnx#1", chunk.slice(0, 100));
      const { cache, decoded } = makeCache(clock());
      const state = await cache.current(kvEnv, createExecutionContext());
      expect(state.status).toBe("unavailable");
      expect(state.status === "unavailable" && state.reasons).toEqual([
        expect.stringMatching(/^bundle v1 cannot be loaded: lists\/popular.json: sha256 [0-9a-f]{64} does not match the manifest's [0-9a-f]{64}$/),
        "bundle v1 cannot be loaded: models/first-stage.onnx: chunk 2 of 3 (bundle/v1/files/models/first-stage.onnx#1) has 100 bytes, expected 2048",
      ]);
      expect(decoded).toEqual([]); // never decoded a partial bundle
    });

    it("retries at the next interval and recovers once the bundle is fixed", async () => {
      const files = await publish("v1", 1);
      await env.BUNDLES.put("bundle/v1/files/lists/popular.json", "[7]");
      const time = clock();
      const { cache } = makeCache(time);
      expect((await cache.current(kvEnv, createExecutionContext())).status).toBe("unavailable");
      await env.BUNDLES.put("bundle/v1/files/lists/popular.json", files.get("lists/popular.json") as Uint8Array);
      time.advance(5);
      expect((await cache.current(kvEnv, createExecutionContext())).status).toBe("unavailable"); // not before the interval
      time.advance(30);
      expect(ready(await cache.current(kvEnv, createExecutionContext())).version).toBe("v1");
    });
  });

  describe("with a previous bundle, a failed load keeps it", () => {
    it("a corrupt new version, a version without manifest, and a decode error", async () => {
      await publish("v1", 1);
      const time = clock();
      let failDecodeOf = "";
      const { cache } = makeCache(time, async (bundle) => {
        if (bundle.version === failDecodeOf) throw new Error("tables/items.bin: unknown feature column");
      });
      const ctx = createExecutionContext();
      const v1 = ready(await cache.current(kvEnv, ctx));

      const v2Files = await publish("v2", 2);
      await env.BUNDLES.put("bundle/v2/files/lists/popular.json", "[9]");
      time.advance(31);
      expect(await cache.current(kvEnv, ctx)).toBe(v1);
      await waitOnExecutionContext(ctx);
      expect(await cache.current(kvEnv, ctx)).toBe(v1);
      expect(cache.snapshot().lastFailure).toMatchObject({ version: "v2", reasons: [expect.stringMatching(/lists\/popular.json: sha256 .* does not match/)] });

      // Fixed, but a known-bad version is not re-downloaded before failedRetrySeconds (300 s) while v1 serves.
      await env.BUNDLES.put("bundle/v2/files/lists/popular.json", v2Files.get("lists/popular.json") as Uint8Array);
      time.advance(31);
      const ctx2 = createExecutionContext();
      await cache.current(kvEnv, ctx2);
      await waitOnExecutionContext(ctx2);
      expect((await cache.current(kvEnv, ctx2)).status === "ready" && cache.snapshot().ready?.version).toBe("v1");
      time.advance(300);
      const ctx3 = createExecutionContext();
      await cache.current(kvEnv, ctx3);
      await waitOnExecutionContext(ctx3);
      expect(ready(await cache.current(kvEnv, ctx3)).version).toBe("v2");
      expect(cache.snapshot().lastFailure).toBeNull();

      await env.BUNDLES.put(ACTIVE_KEY, "v7");
      time.advance(31);
      const ctx4 = createExecutionContext();
      await cache.current(kvEnv, ctx4);
      await waitOnExecutionContext(ctx4);
      expect(ready(await cache.current(kvEnv, ctx4)).version).toBe("v2");
      expect(cache.snapshot().lastFailure?.reasons).toEqual(["bundle v7 cannot be loaded: manifest missing (no KV key bundle/v7/manifest.json)"]);

      await publish("v3", 3);
      failDecodeOf = "v3";
      time.advance(31);
      const ctx5 = createExecutionContext();
      await cache.current(kvEnv, ctx5);
      await waitOnExecutionContext(ctx5);
      expect(ready(await cache.current(kvEnv, ctx5)).version).toBe("v2");
      expect(cache.snapshot().lastFailure).toMatchObject({
        version: "v3",
        reasons: ["bundle v3 loaded but could not be decoded: tables/items.bin: unknown feature column"],
      });
    });
  });

  it("answers unavailable when the binding is missing, without throwing", async () => {
    const { cache } = makeCache(clock());
    expect(await cache.current({}, createExecutionContext())).toEqual({ status: "unavailable", reasons: ["the KV binding BUNDLES is not configured"] });
  });

  it("starts over when a load never settles (its request was cancelled)", async () => {
    await publish("v1", 1);
    const time = clock();
    const stuck = deferred();
    let attempts = 0;
    const { cache } = makeCache(time, async () => {
      attempts++;
      if (attempts === 1) await stuck.promise;
    });
    const waiting = cache.current(kvEnv, createExecutionContext()); // waits up to 20 s (real time) for the load
    await new Promise((resolve) => setTimeout(resolve, 50));
    time.advance(61);
    const second = ready(await cache.current(kvEnv, createExecutionContext()));
    expect(second.version).toBe("v1");
    expect(attempts).toBe(2);
    stuck.release();
    expect((await waiting).status).toBe("ready");
    await cache.settled();
    expect(cache.snapshot().ready).toBe(second); // the abandoned load finishing late swaps nothing in
  });
});

describe("BundleCache releases what a replaced version decoded", () => {
  /** A cache whose decoded value is its version, recording every release. */
  function releasingCache(time: ReturnType<typeof clock>, gate?: (bundle: BundleFiles) => Promise<void>) {
    const released: string[] = [];
    const cache = new BundleCache({
      refreshSeconds: 30,
      now: time.now,
      decode: async (bundle) => {
        await gate?.(bundle);
        return { version: bundle.version };
      },
      release: (decoded) => {
        released.push(decoded.version);
      },
    });
    return { cache, released };
  }

  /** Lets the cache's (asynchronous) releases run. */
  const releasesRun = () => new Promise((resolve) => setTimeout(resolve, 0));

  async function switchTo(version: string, seed: number, cache: BundleCache<{ version: string }>, time: ReturnType<typeof clock>) {
    await publish(version, seed);
    time.advance(31);
    const ctx = createExecutionContext();
    await cache.current(kvEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect(cache.snapshot().ready?.version).toBe(version);
  }

  it("releases the old version at the switch when no request holds it, and only after the last holder is done when one does", async () => {
    await publish("v1", 1);
    const time = clock();
    const { cache, released } = releasingCache(time);
    const requestDone = deferred();
    const holding = deferred();
    const request = cache.use(kvEnv, createExecutionContext(), async (state) => {
      expect(ready(state).version).toBe("v1");
      holding.release();
      await requestDone.promise;
      return ready(state).decoded.version;
    });
    await holding.promise;

    await switchTo("v2", 2, cache, time);
    await releasesRun();
    expect(released).toEqual([]); // v1 is still in use
    requestDone.release();
    expect(await request).toBe("v1");
    await releasesRun();
    expect(released).toEqual(["v1"]);

    await switchTo("v3", 3, cache, time);
    await releasesRun();
    expect(released).toEqual(["v1", "v2"]); // nobody held v2
    const value = await cache.use(kvEnv, createExecutionContext(), async (state) => ready(state).decoded.version);
    await releasesRun();
    expect(value).toBe("v3");
    expect(released).toEqual(["v1", "v2"]); // the current version stays
  });

  it("releases what an abandoned load decoded when it finishes late", async () => {
    await publish("v1", 1);
    const time = clock();
    const stuck = deferred();
    let attempts = 0;
    const { cache, released } = releasingCache(time, async () => {
      attempts++;
      if (attempts === 1) await stuck.promise;
    });
    const waiting = cache.current(kvEnv, createExecutionContext());
    await new Promise((resolve) => setTimeout(resolve, 50));
    time.advance(61);
    const second = ready(await cache.current(kvEnv, createExecutionContext()));
    stuck.release();
    await waiting;
    await cache.settled();
    await releasesRun();
    expect(cache.snapshot().ready).toBe(second);
    expect(released).toEqual(["v1"]); // the late copy, not the one serving
  });
});
