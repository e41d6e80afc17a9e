import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import packageJson from "../../package.json";

describe("GET /health", () => {
  it("answers status and version as JSON", async () => {
    const response = await exports.default.fetch("http://ranker.test/health");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    const body = await response.json();
    expect(body).toMatchObject({ status: "ok", version: packageJson.version });
  });
});
