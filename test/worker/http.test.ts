import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("HTTP conventions", () => {
  it("answers an unknown route with a JSON 404", async () => {
    const response = await exports.default.fetch("http://ranker.test/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: "not_found", message: "no route for GET /nope" } });
  });
});
