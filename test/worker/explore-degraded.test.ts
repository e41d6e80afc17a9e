import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FALLBACK_POPULAR_KEY } from "../../core/bundle/kv-layout";
import { publishBundle } from "../../core/bundle/store";
import { workersKvWriter } from "../../worker/bundle/kv";
import { fixtureFiles } from "./setup/seed-bundle";
import { inject } from "vitest";
import "../support/fixture-types";

const explore = (body: unknown) => exports.default.fetch("http://ranker.test/v1/explore", { method: "POST", body: JSON.stringify(body) });

interface Body {
  model_version: string | null;
  cold_start: boolean;
  degraded: boolean;
  items: { item_id: string; sources: string[]; p: unknown }[];
  debug?: { degraded_reasons: string[] };
}

// This file's KV starts empty (storage is isolated per test file): no bundle has ever been published.
describe("degraded mode", () => {
  it("answers 200 from the fallback list when no bundle can be loaded, and says why", async () => {
    const fallback = Array.from({ length: 12 }, (_, i) => ({ item_id: `p${i}`, author_id: `a${i}`, score: 12 - i }));
    await env.BUNDLES.put(FALLBACK_POPULAR_KEY, JSON.stringify(fallback));
    const response = await explore({ user_id: "u1", count: 5, exclude: ["p0"], debug: true });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Body;
    expect(body).toMatchObject({ model_version: null, cold_start: true, degraded: true });
    expect(body.items.map((item) => item.item_id)).toEqual(["p1", "p2", "p3", "p4", "p5"]);
    expect(body.items.every((item) => item.p === null && item.sources.join() === "popular")).toBe(true);
    expect(body.debug?.degraded_reasons.join(" ")).toMatch(/bundle/);
    const health = (await (await exports.default.fetch("http://ranker.test/health")).json()) as { status: string; degraded: string[] };
    expect(health.status).toBe("degraded");
    expect(health.degraded.length).toBeGreaterThan(0);
  });

  it("also drops what the user has seen from the fallback list", async () => {
    const events = [{ event_id: "e1", user_id: "u2", item_id: "p1", type: "impression", ts: Date.now() - 1000, surface: 1 }];
    await exports.default.fetch("http://ranker.test/v1/events", { method: "POST", body: JSON.stringify({ events }), headers: { authorization: "Bearer test-ingest-token" } });
    const body = (await (await explore({ user_id: "u2", count: 3 })).json()) as Body;
    expect(body.items.map((item) => item.item_id)).toEqual(["p0", "p2", "p3"]);
  });

  it("refuses a corrupt bundle and keeps answering in degraded mode", async () => {
    const fixture = inject("fixtureBundle");
    const files = fixtureFiles();
    const manifest = fixture.manifest as { files: Record<string, { bytes: number; sha256: string }> };
    const [path, entry] = Object.entries(manifest.files)[0] as [string, { bytes: number; sha256: string }];
    // the manifest promises one hash, KV holds other bytes of the same length (stored as they are, no gzip)
    await publishBundle(workersKvWriter(env.BUNDLES), { ...manifest, version: "corrupt-1" }, files, { compress: false });
    const corrupted = new Uint8Array(entry.bytes).fill(7);
    await env.BUNDLES.put(`bundle/corrupt-1/files/${path}`, corrupted);
    const body = (await (await explore({ user_id: "u3", count: 3, debug: true })).json()) as Body;
    expect(body.degraded).toBe(true);
    expect(body.model_version).toBeNull();
    expect(body.debug?.degraded_reasons.join(" ")).toMatch(/sha256|hash/i);
  });

  it("refuses a bundle whose stored gzip is damaged, naming the file, and keeps answering in degraded mode", async () => {
    const manifest = inject("fixtureBundle").manifest as Record<string, unknown>;
    const path = "tables/users.bin"; // gzip shrinks it to a sixth, so it is stored compressed
    await publishBundle(workersKvWriter(env.BUNDLES), { ...manifest, version: "corrupt-gzip-1" }, fixtureFiles(), {});
    const stored = new Uint8Array((await env.BUNDLES.get(`bundle/corrupt-gzip-1/files/${path}`, "arrayBuffer")) as ArrayBuffer);
    expect([stored[0], stored[1]]).toEqual([0x1f, 0x8b]); // a gzip member
    const damaged = stored.slice();
    damaged[damaged.length - 6] = (damaged[damaged.length - 6] as number) ^ 0xff; // its CRC
    await env.BUNDLES.put(`bundle/corrupt-gzip-1/files/${path}`, damaged);
    const body = (await (await explore({ user_id: "u3", count: 3, debug: true })).json()) as Body;
    expect(body.degraded).toBe(true);
    expect(body.model_version).toBeNull();
    expect(body.debug?.degraded_reasons.join(" ")).toMatch(/tables\/users.bin: its stored gzip does not inflate/);
  });
});
