import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import packageJson from "../../package.json";

describe("GET /health", () => {
  it("answers status and version as JSON, degraded without a bundle", async () => {
    const response = await exports.default.fetch("http://ranker.test/health");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    const body = await response.json();
    // no bundle has been published to this test's KV, so the Worker says it is degraded and why
    expect(body).toMatchObject({ status: "degraded", version: packageJson.version, bundle: null });
    expect(body).toHaveProperty("isolate.wasm_memory_bytes");
  });
});
