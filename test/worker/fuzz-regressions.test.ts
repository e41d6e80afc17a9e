// Shrunk counterexamples of the fuzzing section (scripts/reliability/fuzz.ts, issue 17), each as the fuzzer sent it:
// the Worker must answer every one with a clean 4xx whose error body names the offending field.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/** The test Worker's secrets (vitest.workers.config.ts). */
const ADMIN = { authorization: "Bearer test-admin-token" } as const;
const INGEST = { authorization: "Bearer test-ingest-token" } as const;

async function send(method: string, path: string, body: BodyInit | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await exports.default.fetch(`http://ranker.test${path}`, { method, body, headers: { "content-type": "application/json", ...headers } });
  return { status: response.status, body: await response.json() };
}

describe("fuzzing regressions", () => {
  it("names an unknown empty key as \"\" rather than an empty field", async () => {
    // POST /v1/suggested chunked body {"user_id":"0","":null} answered field ""
    expect(await send("POST", "/v1/suggested", '{"user_id":"0","":null}')).toEqual({ status: 400, body: { error: { code: "invalid_request", message: 'Unrecognized key: ""', field: '""' } } });
    const nested = await send("POST", "/v1/explore", '{"user_id":"0","weights":{"":1}}');
    expect(nested).toEqual({ status: 400, body: { error: { code: "invalid_request", message: 'Unrecognized key: ""', field: 'weights.""' } } });
  });
});
