import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { optionalFeedAuth } from "../../worker/http/auth";
import { handleError } from "../../worker/http/errors";

// The feed routes are open unless the deployment sets FEED_TOKEN; the middleware is tested on its own
// because the test Worker's bindings (without FEED_TOKEN) are fixed per project.
function app() {
  const hono = new Hono<{ Bindings: Env }>();
  hono.post("/feed", optionalFeedAuth(), (c) => c.json({ ok: true }));
  hono.onError(handleError);
  return hono;
}

describe("optional feed auth", () => {
  it("lets requests through when FEED_TOKEN is not set", async () => {
    const response = await app().request("/feed", { method: "POST" }, {} as Env);
    expect(response.status).toBe(200);
  });

  it("requires the bearer token when FEED_TOKEN is set", async () => {
    const env = { FEED_TOKEN: "s3cret" } as unknown as Env;
    expect((await app().request("/feed", { method: "POST" }, env)).status).toBe(401);
    expect((await app().request("/feed", { method: "POST", headers: { authorization: "Bearer nope" } }, env)).status).toBe(401);
    const denied = await app().request("/feed", { method: "POST", headers: { authorization: "Bearer s3cre" } }, env);
    expect(await denied.json()).toEqual({ error: { code: "unauthorized", message: "this route needs Authorization: Bearer <FEED_TOKEN>" } });
    expect((await app().request("/feed", { method: "POST", headers: { authorization: "Bearer s3cret" } }, env)).status).toBe(200);
  });
});
