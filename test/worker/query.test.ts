import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import "../support/fixture-types";
import { seedFixtureBundle } from "./setup/seed-bundle";
import type { components } from "../../client";

// the answers' shapes as the contract documents them (client/openapi-types.ts, generated from worker/contract)
type QueryBody = components["schemas"]["QueryResponse"];
type QueryErrorBody = components["schemas"]["QueryError"];

const query = (body: unknown, token: string | null = "test-admin-token") =>
  exports.default.fetch("http://ranker.test/v1/query", { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: token === null ? {} : { authorization: `Bearer ${token}` } });

let version = "";
let busyUser = "";
beforeAll(async () => {
  version = await seedFixtureBundle();
  busyUser = inject("fixtureBundle").expectations[0]?.userId as string;
});

describe("POST /v1/query", () => {
  it("needs the admin token", async () => {
    expect((await query({ query: "user.popular(n=5)", user_id: busyUser }, null)).status).toBe(401);
    expect((await query({ query: "user.popular(n=5)", user_id: busyUser }, "wrong")).status).toBe(401);
    expect((await query({ query: "user.popular(n=5)", user_id: busyUser }, "test-ingest-token")).status).toBe(401);
  });

  it("runs a seed query for a user over the serving stores and returns the candidates with ids, provenance and the trace", async () => {
    const text = "user\n.engaged(surface=home, max=10)\n.let(seed_id=account_id)\n.account_nn(k=5)\n.posted_media(max_media_per_account=2)\n.filter(non_recommendable_model_threshold=0.98)\n.rank(ranking_model=default)\n.diversify_by(seed_id, method=round_robin)";
    const response = await query({ query: text, user_id: busyUser, seed_type: "H" });
    expect(response.status).toBe(200);
    expect(response.headers.get("server-timing")).toMatch(/query;dur=\d.*total;dur=\d/);
    const body = (await response.json()) as QueryBody;
    expect(body).toMatchObject({ model_version: version, user_id: busyUser });
    expect(body.query.split("\n")[0]).toBe("user");
    expect(body.total).toBeGreaterThan(0);
    expect(body.trace.steps.map((step) => [step.operator, step.line])).toEqual([["user", 1], ["engaged", 2], ["let", 3], ["account_nn", 4], ["posted_media", 5], ["filter", 6], ["rank", 7], ["diversify_by", 8]]);
    body.trace.steps.slice(1).forEach((step, i) => expect(step.countIn).toBe(body.trace.steps[i]?.countOut));
    for (const candidate of body.candidates) {
      expect(candidate.seed_type).toBe("H");
      expect(candidate.path.map((step) => step.kind)).toEqual(["user", "account", "account", "media"]);
      expect(candidate.path[0]?.id).toBe(busyUser);
      // seed_id is the engaged account, as its external author id
      expect(candidate.seed_id).toBe(candidate.path[1]?.id);
      expect(candidate.attributes.seed_id).toBe(candidate.seed_id);
      expect(candidate.path[3]?.id).toBe(candidate.item_id);
      expect(Object.keys(candidate.p ?? {})).toHaveLength(7);
    }
  });

  it("starts from the caller's seed accounts, and refuses a seeds query without seeds or with unknown ones", async () => {
    const popular = (await (await query({ query: "user.popular(n=3)", user_id: busyUser })).json()) as QueryBody;
    const author = popular.candidates[0]?.author_id as string;
    const seeded = (await (await query({ query: "seed_accounts.account_nn(k=3).posted_media(1)", user_id: busyUser, seed_accounts: [{ id: author, type: "F" }] })).json()) as QueryBody;
    expect(seeded.total).toBeGreaterThan(0);
    for (const candidate of seeded.candidates) {
      expect(candidate.seed_id).toBe(author);
      expect(candidate.seed_type).toBe("F");
      expect(candidate.author_id).not.toBe(author);
    }
    const missing = await query({ query: "seed_accounts.posted_media(1)", user_id: busyUser });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as QueryErrorBody).error).toMatchObject({ code: "missing_seeds", field: "seed_accounts", line: 1, column: 1 });
    const unknown = await query({ query: "seed_accounts.posted_media(1)", user_id: busyUser, seed_accounts: ["no-such-author"] });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { field: string } }).error.field).toBe("seed_accounts.0");
  });

  it("answers a syntax error with a 400 naming line, column and what was expected", async () => {
    const response = await query({ query: "user\n.liked(max_num_to_retrieve=30", user_id: busyUser });
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as QueryErrorBody;
    expect(error).toMatchObject({ kind: "syntax", code: "unexpected_token", field: "query", line: 2, column: 30 });
    expect(error.message).toMatch(/^line 2, column 30: expected "," or "\)"/);
  });

  it("answers type errors with a 400 naming line and column", async () => {
    const mismatch = (await (await query({ query: "user.liked_media().posted_media()", user_id: busyUser })).json()) as QueryErrorBody;
    expect(mismatch.error).toMatchObject({ kind: "type", code: "stream_mismatch", field: "query", line: 1, column: 20 });
    expect(mismatch.error.message).toMatch(/posted_media expects an account stream but liked_media produces media/);
    const unknown = await query({ query: "user\n  .likd()", user_id: busyUser });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as QueryErrorBody).error).toMatchObject({ code: "unknown_operator", line: 2, column: 4 });
    const model = (await (await query({ query: "user.popular(n=5).rank(ranking_model=gbdt)", user_id: busyUser })).json()) as QueryErrorBody;
    expect(model.error.code).toBe("unknown_name");
    expect(model.error.message).toMatch(/gbdt/);
  });

  it("answers a query over a limit with a 400 naming the limit", async () => {
    const fanOut = (await (await query({ query: "user.engaged(max=10).posted_media(max_media_per_account=1000)", user_id: busyUser })).json()) as QueryErrorBody;
    expect(fanOut.error).toMatchObject({ kind: "limit", code: "max_fan_out", limit: "max_fan_out", field: "query" });
    expect(fanOut.error.message).toMatch(/max_fan_out/);
    const long = (await (await query({ query: `user.popular(n=5)${" ".repeat(5000)}`, user_id: busyUser })).json()) as QueryErrorBody;
    expect(long.error).toMatchObject({ code: "max_query_bytes", limit: "max_query_bytes" });
    const many = (await (await query({ query: `user.popular(n=5)${".limit(n=5)".repeat(17)}`, user_id: busyUser })).json()) as QueryErrorBody;
    expect(many.error).toMatchObject({ code: "max_operators", limit: "max_operators" });
  });

  it("validates the body like every route: 400 naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ user_id: busyUser }, "query"],
      [{ query: "", user_id: busyUser }, "query"],
      [{ query: "user.popular(n=5)" }, "user_id"],
      [{ query: "user.popular(n=5)", user_id: busyUser, count: 0 }, "count"],
      [{ query: "user.popular(n=5)", user_id: busyUser, seed_accounts: "a" }, "seed_accounts"],
      ["{", "body"],
    ];
    for (const [body, field] of cases) {
      const response = await query(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { error: { field: string } }).error.field).toBe(field);
    }
  });

  it("returns at most count candidates and says how many there were", async () => {
    const body = (await (await query({ query: "user.popular(n=50)", user_id: "anyone", count: 7 })).json()) as QueryBody;
    expect(body.candidates).toHaveLength(7);
    expect(body.total).toBeGreaterThan(7);
    expect(body.candidates.every((candidate) => candidate.p === null && candidate.path[0]?.id === "anyone")).toBe(true);
  });
});
