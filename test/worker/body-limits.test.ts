import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { API_ROUTES } from "../../worker/contract";
import { honoPath } from "../../worker/contract/route";

// the test Worker's secrets (vitest.workers.config.ts)
const TOKENS = { INGEST_TOKEN: "test-ingest-token", ADMIN_TOKEN: "test-admin-token", FEED_TOKEN: "unused" } as const;
const withBody = API_ROUTES.filter((route) => route.body !== undefined);

function call(route: (typeof withBody)[number], body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
  const auth: Record<string, string> = route.auth && !route.auth.optional ? { authorization: `Bearer ${TOKENS[route.auth.token]}` } : {};
  return exports.default.fetch(`http://ranker.test${honoPath(route.path)}`, { method: route.method.toUpperCase(), body, headers: { ...auth, ...headers } });
}

/** A JSON object of exactly `bytes` bytes: not a valid request, so a body within the limit is a 400, over it a 413. */
function jsonOfLength(bytes: number): string {
  const frame = '{"pad":""}';
  return `{"pad":"${"x".repeat(bytes - frame.length)}"}`;
}

describe("request body limits", () => {
  it("every route that reads a body declares its limit, and the document says it", () => {
    expect(withBody.length).toBeGreaterThanOrEqual(7);
    for (const route of withBody) {
      expect(route.body?.maxBytes, route.operationId).toBeGreaterThan(1024);
      expect(route.responses[413], route.operationId).toBeDefined();
    }
  });

  it("refuses a body one byte over the limit with a 413 naming the body, and reads one at the limit", async () => {
    for (const route of withBody) {
      const limit = route.body?.maxBytes as number;
      const over = await call(route, jsonOfLength(limit + 1));
      expect(over.status, route.operationId).toBe(413);
      expect(await over.json()).toEqual({ error: { code: "payload_too_large", message: `the request body is over this route's limit of ${limit} bytes`, field: "body" } });
      const at = await call(route, jsonOfLength(limit));
      expect(at.status, route.operationId).toBe(400);
      expect(((await at.json()) as { error: { code: string } }).error.code, route.operationId).not.toBe("payload_too_large");
    }
  });

  it("counts a body sent without a length while reading it", async () => {
    const route = withBody.find((candidate) => candidate.path === "/v1/events");
    if (!route) throw new Error("no /v1/events contract");
    const limit = route.body?.maxBytes as number;
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // a bounded stream, several times the limit: the Worker must stop reading long before its end
        if (sent > 4 * limit) controller.close();
        else {
          sent += chunk.length;
          controller.enqueue(chunk);
        }
      },
    });
    const response = await call(route, stream);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { field: string } }).error.field).toBe("body");
  });
});
