// Section 6 of `npm run reliability` (issue 17): limits. Starts the real Worker in `wrangler dev` on loopback (a
// snapshot of HEAD, the fixture bundle, fresh local state) and measures:
//   1. each route's request body limit: the largest body it accepts and the smallest it refuses with 413 and the JSON
//      error body, sent with Content-Length and chunked (without one), against the contract's number and what the
//      served OpenAPI document says. The smoke run probes both sides of the contract's edge; the full run also
//      searches for the edge by bisection, without assuming it;
//   2. the per-token rate limit (worker/http/rate-limit.ts, the RATE_LIMITER binding): 429 `rate_limited` with
//      Retry-After once a token is over its limit, another route class (another token) still served meanwhile, a
//      wrong token still 401 (only authenticated requests count), and recovery within Retry-After. The committed limit
//      is 60,000 requests a minute, more than this machine can send through wrangler's proxy, so a second `wrangler dev`
//      of the same snapshot runs with the limit lowered in a copy of wrangler.toml (the binding and code unchanged);
//   3. secrets never echoed: wrong tokens (a changed last character, a longer one, a prefix, another secret's,
//      another scheme) and right tokens on failing requests (400, 404, 413, a wrong fault token), to every token's
//      routes; no answer's body or headers, and nothing wrangler wrote (its log file, which holds everything it
//      prints on stdout and stderr at every level, the Worker's console included), may hold a token.
//
//   npx tsx scripts/reliability/limits.ts [--smoke] [--working-tree]
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { BundleTables } from "../../core/serving/bundle-tables";
import { fixtureBundleDirectory } from "../../test/support/fixture-bundle";
import { API_ROUTES } from "../../worker/contract";
import type { RouteContract, TokenSecret } from "../../worker/contract/route";
import { REPO_ROOT, startDevServer, type DevServer } from "../bench/wrangler";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { publishDirectory } from "../lib/kv-publish";
import type { ReliabilityRow, ReliabilitySection, ReliabilitySectionOptions, ReliabilitySectionResult } from "./section";
import { fixtureBundleOf, snapshotOfHead } from "./snapshot";

const SECTION = "limits";
const REQUEST_TIMEOUT_MS = 30_000;
/** The rate limit the second server runs with (wrangler.toml's `[[ratelimits]]` `simple`); the binding allows periods of 10 or 60 s. */
const LOWERED_RATE_LIMIT = { smoke: { limit: 20, period: 10 }, full: { limit: 100, period: 60 } } as const;

export interface LimitsOptions extends ReliabilitySectionOptions {
  /** Serve the working tree as it is instead of a snapshot of HEAD (wrangler dev restarts the Worker on every edit). */
  readonly workingTree?: boolean;
}

interface Answer {
  readonly status: number;
  /** Raw header names and values, in order. */
  readonly rawHeaders: readonly string[];
  readonly body: string;
  readonly ms: number;
}

interface Probe {
  readonly method: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** Send the body without Content-Length (Transfer-Encoding: chunked), in 64 KiB writes. */
  readonly chunked?: boolean;
}

function send(agent: Agent, baseUrl: string, probe: Probe): Promise<Answer> {
  const url = new URL(baseUrl);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...probe.headers };
    if (probe.body !== undefined && !probe.chunked) headers["content-length"] = String(probe.body.byteLength);
    const request = httpRequest({ agent, host: url.hostname, port: url.port, path: probe.path, method: probe.method, headers, timeout: REQUEST_TIMEOUT_MS }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, rawHeaders: response.rawHeaders, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - started }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`${probe.method} ${probe.path}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    request.on("error", reject);
    if (probe.body === undefined) {
      request.end();
      return;
    }
    if (!probe.chunked) {
      request.end(probe.body);
      return;
    }
    const body = probe.body;
    const step = 64 * 1024;
    let offset = 0;
    const writeMore = (): void => {
      while (offset < body.byteLength) {
        const piece = body.subarray(offset, offset + step);
        offset += piece.byteLength;
        if (!request.write(piece)) {
          request.once("drain", writeMore);
          return;
        }
      }
      request.end();
    };
    writeMore();
  });
}

interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly field: string | undefined;
}

/** The Worker's JSON error body `{error: {code, message, field?}}`, or undefined when the answer is not one. */
function errorBody(answer: Answer): ErrorBody | undefined {
  try {
    const parsed: unknown = JSON.parse(answer.body);
    if (typeof parsed !== "object" || parsed === null || !("error" in parsed)) return undefined;
    const error: unknown = parsed.error;
    if (typeof error !== "object" || error === null || !("code" in error) || !("message" in error)) return undefined;
    const { code, message } = error;
    const field = "field" in error ? error.field : undefined;
    if (typeof code !== "string" || typeof message !== "string" || (field !== undefined && typeof field !== "string")) return undefined;
    return { code, message, field };
  } catch {
    return undefined;
  }
}

function header(answer: Answer, name: string): string | undefined {
  for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) if ((answer.rawHeaders[i] as string).toLowerCase() === name) return answer.rawHeaders[i + 1];
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const count = (n: number) => n.toLocaleString("en-US");
const hex = (bytes: number) => randomBytes(bytes).toString("hex");

type Tokens = Readonly<Record<TokenSecret, string>>;

/** Per run, random: a token found in any output can only have come from this run's requests or configuration. */
function freshTokens(): Tokens {
  return { ADMIN_TOKEN: `limits-admin-${hex(12)}`, INGEST_TOKEN: `limits-ingest-${hex(12)}`, FEED_TOKEN: `limits-feed-${hex(12)}` };
}

const varArgs = (tokens: Tokens) => Object.entries(tokens).flatMap(([name, value]) => ["--var", `${name}:${value}`]);

/** What the bodies of the routes are made of: bundle ids, so valid bodies reach past validation into the routes. */
interface Fixture {
  readonly user: string;
  readonly item: string;
  readonly author: string;
  readonly config: unknown;
}

/** A valid body for a route with a body (`<method> <path>`, as the contract spells them); unknown routes get `{}`. */
function validBody(route: string, fixture: Fixture, serial: number): unknown {
  switch (route) {
    case "post /v1/explore":
    case "post /v1/suggested":
    case "post /v1/inspect":
      return { user_id: fixture.user, count: 5 };
    case "post /v1/events":
      return { events: [{ event_id: `limits-${serial}`, user_id: fixture.user, item_id: fixture.item, type: "impression", ts: Date.now() - 1_000, surface: 1 }] };
    case "post /v1/query":
      return { user_id: fixture.user, query: "user.user_nn(n=10)" };
    case "put /v1/admin/config":
      return fixture.config;
    case "put /v1/items":
      return { items: [{ item_id: "limits-live-item", author_id: fixture.author, tags: ["limits"], created_at: Date.now() - 60_000, duration: 10_000, type: "video", integrity: 1 }] };
    default:
      return {};
  }
}

/** The JSON text padded with spaces (still the same JSON) to exactly `bytes` bytes. */
function padded(json: string, bytes: number): Buffer {
  const base = Buffer.from(json, "utf8");
  if (base.byteLength > bytes) throw new Error(`a body of ${bytes} bytes cannot hold ${base.byteLength} bytes of JSON`);
  return Buffer.concat([base, Buffer.alloc(bytes - base.byteLength, 0x20)]);
}

interface BodyLimitResult {
  readonly route: string;
  readonly contract: number;
  /** What the served OpenAPI document says the limit is (from the request body's description), if it says. */
  readonly documented: number | undefined;
  readonly largestAccepted: number;
  readonly statusAtLargest: number;
  readonly smallestRefused: number;
  /** The 413's body is `{error: {code: "payload_too_large", message, field: "body"}}`. */
  readonly refusalShaped: boolean;
  readonly chunkedAtLimit: number;
  readonly chunkedOverLimit: number;
  readonly chunkedRefusalShaped: boolean;
  /** Bisected (full run) or probed at the contract's edge (smoke). */
  readonly searched: boolean;
  readonly requests: number;
  readonly problems: readonly string[];
}

async function measureBodyLimit(agent: Agent, url: string, route: RouteContract & { body: NonNullable<RouteContract["body"]> }, headers: Readonly<Record<string, string>>, fixture: Fixture, documented: number | undefined, search: boolean): Promise<BodyLimitResult> {
  const limit = route.body.maxBytes;
  let serial = 0;
  let requests = 0;
  const problems: string[] = [];
  const probe = async (bytes: number, chunked = false): Promise<Answer> => {
    requests++;
    const body = padded(JSON.stringify(validBody(`${route.method} ${route.path}`, fixture, serial++)), bytes);
    return send(agent, url, { method: route.method.toUpperCase(), path: route.path, headers: { ...headers, "content-type": "application/json" }, body, chunked });
  };
  const isRefusal = (answer: Answer) => {
    const error = errorBody(answer);
    return answer.status === 413 && error?.code === "payload_too_large" && error.field === "body";
  };
  let largestAccepted: number;
  let statusAtLargest: number;
  let smallestRefused: number;
  let refusalShaped: boolean;
  if (search) {
    // bisect between the smallest valid body (accepted) and twice the contract (refused), assuming nothing between
    let low = Buffer.byteLength(JSON.stringify(validBody(`${route.method} ${route.path}`, fixture, 0)));
    let high = 2 * limit + 1;
    const top = await probe(high);
    if (top.status !== 413) {
      problems.push(`a body of ${high} bytes answered ${top.status}, not 413`);
      return { route: `${route.method.toUpperCase()} ${route.path}`, contract: limit, documented, largestAccepted: high, statusAtLargest: top.status, smallestRefused: Number.NaN, refusalShaped: false, chunkedAtLimit: 0, chunkedOverLimit: 0, chunkedRefusalShaped: false, searched: true, requests, problems };
    }
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      const answer = await probe(middle);
      if (answer.status === 413) high = middle;
      else low = middle;
    }
    largestAccepted = low;
    smallestRefused = high;
  } else {
    largestAccepted = limit;
    smallestRefused = limit + 1;
  }
  // both sides of the edge, once more, recorded as they answer
  const atLargest = await probe(largestAccepted);
  statusAtLargest = atLargest.status;
  if (atLargest.status === 413) problems.push(`${largestAccepted} bytes answered 413`);
  // past the size check; a 5xx must still be the Worker's own JSON error (bundle_unavailable, say), not a crash
  else if (atLargest.status >= 500 && errorBody(atLargest) === undefined) problems.push(`${largestAccepted} bytes answered ${atLargest.status}: ${atLargest.body.slice(0, 200)}`);
  const overEdge = await probe(smallestRefused);
  refusalShaped = isRefusal(overEdge);
  if (!refusalShaped) problems.push(`${smallestRefused} bytes answered ${overEdge.status} ${overEdge.body.slice(0, 200)}, not 413 payload_too_large on field body`);
  if (largestAccepted !== limit || smallestRefused !== limit + 1) problems.push(`the edge is at ${largestAccepted}/${smallestRefused} bytes, the contract says ${limit}`);
  if (documented !== limit) problems.push(`the OpenAPI document says ${documented ?? "nothing"}, the contract ${limit}`);
  // without Content-Length the Worker counts while reading
  const chunkedAt = await probe(limit, true);
  if (chunkedAt.status === 413 || (chunkedAt.status >= 500 && errorBody(chunkedAt) === undefined)) problems.push(`chunked, ${limit} bytes answered ${chunkedAt.status}`);
  const chunkedOver = await probe(limit + 1, true);
  const chunkedRefusalShaped = isRefusal(chunkedOver);
  if (!chunkedRefusalShaped) problems.push(`chunked, ${limit + 1} bytes answered ${chunkedOver.status} ${chunkedOver.body.slice(0, 200)}`);
  return { route: `${route.method.toUpperCase()} ${route.path}`, contract: limit, documented, largestAccepted, statusAtLargest, smallestRefused, refusalShaped, chunkedAtLimit: chunkedAt.status, chunkedOverLimit: chunkedOver.status, chunkedRefusalShaped, searched: search, requests, problems };
}

/** The byte limit the served OpenAPI document states for each operation's request body ("at most N bytes"). */
async function documentedLimits(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/openapi.json`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const document: unknown = await response.json();
  const limits = new Map<string, number>();
  if (typeof document !== "object" || document === null || !("paths" in document) || typeof document.paths !== "object" || document.paths === null) return limits;
  for (const [path, operations] of Object.entries(document.paths)) {
    if (typeof operations !== "object" || operations === null) continue;
    for (const [method, operation] of Object.entries(operations)) {
      const description: unknown = typeof operation === "object" && operation !== null && "requestBody" in operation && typeof operation.requestBody === "object" && operation.requestBody !== null && "description" in operation.requestBody ? operation.requestBody.description : undefined;
      const match = typeof description === "string" ? /at most (\d+) bytes/.exec(description) : null;
      if (match) limits.set(`${method} ${path}`, Number(match[1]));
    }
  }
  return limits;
}

interface RateLimitResult {
  readonly limit: number;
  readonly period: number;
  /** Answers 200 before the first 429, in a window this client had to itself. */
  readonly allowed: number;
  readonly limitedStatus: number;
  readonly retryAfter: string | undefined;
  readonly limitedCode: string | undefined;
  /** While the admin token was limited: the ingest token's POST /v1/events, and a wrong admin token. */
  readonly otherClassStatus: number;
  readonly wrongTokenStatus: number;
  /** From the first 429 to the first 200 again (NaN when it did not recover within the bound). */
  readonly recoverySeconds: number;
  readonly problems: readonly string[];
}

/** Exhausts the admin token's limit on a cheap route from the start of a fresh window, then waits for it to lift. */
async function measureRateLimit(agent: Agent, url: string, tokens: Tokens, fixture: Fixture, limit: number, period: number, log: (line: string) => void): Promise<RateLimitResult> {
  const problems: string[] = [];
  const admin = { authorization: `Bearer ${tokens.ADMIN_TOKEN}` };
  const cheap: Probe = { method: "GET", path: "/v1/admin/trending", headers: admin };
  // the binding counts in fixed windows of `period` seconds (Miniflare's, as Cloudflare's): start at a fresh one
  const intoWindow = Date.now() % (period * 1000);
  await sleep(period * 1000 - intoWindow + 50);
  let allowed = 0;
  let limited: Answer | undefined;
  for (let i = 0; i < limit * 2 + 10 && limited === undefined; i++) {
    const answer = await send(agent, url, cheap);
    if (answer.status === 200) allowed++;
    else if (answer.status === 429) limited = answer;
    else problems.push(`GET /v1/admin/trending answered ${answer.status} before the limit: ${answer.body.slice(0, 200)}`);
  }
  const limitedAt = performance.now();
  if (limited === undefined) {
    problems.push(`no 429 after ${limit * 2 + 10} requests`);
    return { limit, period, allowed, limitedStatus: 0, retryAfter: undefined, limitedCode: undefined, otherClassStatus: 0, wrongTokenStatus: 0, recoverySeconds: Number.NaN, problems };
  }
  const retryAfter = header(limited, "retry-after");
  const limitedCode = errorBody(limited)?.code;
  if (!(retryAfter !== undefined && /^\d+$/.test(retryAfter) && Number(retryAfter) > 0)) problems.push(`the 429 carries Retry-After ${JSON.stringify(retryAfter)}`);
  if (limitedCode !== "rate_limited") problems.push(`the 429's body is ${limited.body.slice(0, 200)}`);
  if (allowed !== limit) problems.push(`${allowed} requests were served before the 429, the limit is ${limit}`);
  log(`  rate limit: 429 after ${allowed} requests (Retry-After ${retryAfter ?? "none"})`);
  // another route class counts apart; a wrong token is refused before it is counted
  const other = await send(agent, url, { method: "POST", path: "/v1/events", headers: { authorization: `Bearer ${tokens.INGEST_TOKEN}`, "content-type": "application/json" }, body: Buffer.from(JSON.stringify(validBody("post /v1/events", fixture, 1_000_000))) });
  if (other.status !== 200) problems.push(`POST /v1/events with the ingest token answered ${other.status} while the admin token was limited`);
  const wrong = await send(agent, url, { ...cheap, headers: { authorization: `Bearer ${tokens.ADMIN_TOKEN}x` } });
  if (wrong.status !== 401) problems.push(`a wrong admin token answered ${wrong.status} while the right one was limited`);
  // recovery: poll (bounded) until the token is served again
  const bound = (Number(retryAfter ?? period) + 15) * 1000;
  let recoverySeconds = Number.NaN;
  while (performance.now() - limitedAt < bound) {
    const answer = await send(agent, url, cheap);
    if (answer.status === 200) {
      recoverySeconds = (performance.now() - limitedAt) / 1000;
      break;
    }
    if (answer.status !== 429) problems.push(`while limited, GET /v1/admin/trending answered ${answer.status}`);
    await sleep(250);
  }
  if (Number.isNaN(recoverySeconds)) problems.push(`still limited ${bound / 1000} s after the first 429`);
  else if (recoverySeconds > Number(retryAfter ?? 0) + 1) problems.push(`served again only after ${recoverySeconds.toFixed(1)} s, later than Retry-After ${retryAfter}`);
  return { limit, period, allowed, limitedStatus: limited.status, retryAfter, limitedCode, otherClassStatus: other.status, wrongTokenStatus: wrong.status, recoverySeconds, problems };
}

interface SecretsResult {
  readonly requests: number;
  /** Answers whose body or headers held a token (the right one, or the credential the request sent). */
  readonly echoingAnswers: readonly string[];
  /** Wrong credentials answered something else than 401 with the JSON error body. */
  readonly not401: readonly string[];
  /** Distinct bodies of the 401s (a client should learn nothing from which way its credential was wrong). */
  readonly distinct401Bodies: number;
  /** Every string that must appear nowhere: the right tokens, each credential sent, in plain and base64. */
  readonly needles: ReadonlySet<string>;
}

/** Wrong credentials to every token's routes, and right ones on requests that fail; no answer may echo a token. */
async function probeSecrets(agent: Agent, url: string, tokens: Tokens): Promise<SecretsResult> {
  const routes: Readonly<Record<TokenSecret, readonly Probe[]>> = {
    ADMIN_TOKEN: [
      { method: "GET", path: "/v1/admin/config" },
      { method: "PUT", path: "/v1/admin/config", body: Buffer.from("{}") },
      { method: "POST", path: "/v1/query", body: Buffer.from('{"user_id":"1","query":"user.user_nn(n=1)"}') },
      { method: "POST", path: "/v1/inspect", body: Buffer.from('{"user_id":"1"}') },
      { method: "PUT", path: "/v1/items", body: Buffer.from('{"items":[]}') },
      { method: "GET", path: "/v1/admin/trending" },
    ],
    INGEST_TOKEN: [{ method: "POST", path: "/v1/events", body: Buffer.from('{"events":[]}') }],
    FEED_TOKEN: [
      { method: "POST", path: "/v1/explore", body: Buffer.from('{"user_id":"1"}') },
      { method: "POST", path: "/v1/suggested", body: Buffer.from('{"user_id":"1"}') },
    ],
  };
  const needles = new Set<string>(Object.values(tokens));
  const echoing: string[] = [];
  const not401: string[] = [];
  const bodies401 = new Set<string>();
  let requests = 0;
  const check = (label: string, answer: Answer, sent: readonly string[]) => {
    const text = `${answer.body}\n${answer.rawHeaders.join("\n")}`;
    const found = [...Object.values(tokens), ...sent].filter((needle) => needle.length >= 8 && (text.includes(needle) || text.includes(Buffer.from(needle).toString("base64"))));
    if (found.length > 0) echoing.push(`${label}: ${answer.status} holds ${found.length} token(s)`);
  };
  for (const [secret, probes] of Object.entries(routes) as Array<[TokenSecret, readonly Probe[]]>) {
    const right = tokens[secret];
    const last = right.at(-1) === "0" ? "1" : "0";
    const others = Object.entries(tokens).filter(([name]) => name !== secret).map(([, value]) => value);
    const credentials: Array<[string, string, string]> = [
      ["last character changed", `Bearer ${right.slice(0, -1)}${last}`, `${right.slice(0, -1)}${last}`],
      ["one character longer", `Bearer ${right}0`, `${right}0`],
      ["a prefix", `Bearer ${right.slice(0, Math.ceil(right.length / 2))}`, right.slice(0, Math.ceil(right.length / 2))],
      ["random", `Bearer wrong-${hex(12)}`, ""],
      ...others.map((other, i): [string, string, string] => [`another secret's (${i + 1})`, `Bearer ${other}`, other]),
      ["Basic scheme", `Basic ${Buffer.from(`user:${right}`).toString("base64")}`, right],
      ["no scheme", right, right],
      ["lower-case scheme, wrong", `bearer ${right.slice(0, -1)}${last}`, `${right.slice(0, -1)}${last}`],
    ];
    for (const probe of probes) {
      for (const [label, authorization, sentToken] of credentials) {
        const wrongAnswer = await send(agent, url, { ...probe, headers: { authorization, "content-type": "application/json" } });
        requests++;
        const sent = [authorization, ...(sentToken === "" ? [] : [sentToken])];
        for (const value of sent) needles.add(value);
        check(`${probe.method} ${probe.path} with ${label}`, wrongAnswer, sent);
        if (wrongAnswer.status !== 401 || errorBody(wrongAnswer)?.code !== "unauthorized") not401.push(`${probe.method} ${probe.path} with ${label}: ${wrongAnswer.status}`);
        else bodies401.add(`${probe.path}\u0000${wrongAnswer.body}`);
      }
      // the right token on requests that fail in other ways (a body over the route's limit by one byte, which the
      // Worker reads to its end: one it left unread would break wrangler's proxy, not the Worker)
      const auth = { authorization: `Bearer ${right}`, "content-type": "application/json" };
      const maxBytes = API_ROUTES.find((route) => route.method === probe.method.toLowerCase() && route.path === probe.path)?.body?.maxBytes;
      const failing: Array<[string, Probe]> = [
        ["an unknown path", { ...probe, path: `${probe.path}/nothing-here`, headers: auth }],
        ...(probe.body === undefined || maxBytes === undefined
          ? []
          : [
              ["malformed JSON", { ...probe, headers: auth, body: Buffer.from("{not json") }] as [string, Probe],
              ["a body over the limit", { ...probe, headers: auth, body: Buffer.alloc(maxBytes + 1, 0x20) }] as [string, Probe],
            ]),
      ];
      for (const [label, failingProbe] of failing) {
        const answer = await send(agent, url, failingProbe);
        requests++;
        check(`${failingProbe.method} ${failingProbe.path} (right token, ${label})`, answer, [right]);
      }
    }
  }
  // the fault-injection hook's token (worker/faults): a wrong one is ignored, the right one is honoured; neither echoed
  for (const faultToken of [`${tokens.ADMIN_TOKEN}0`, tokens.ADMIN_TOKEN]) {
    needles.add(faultToken);
    const answer = await send(agent, url, { method: "POST", path: "/v1/events", headers: { authorization: `Bearer ${tokens.INGEST_TOKEN}`, "content-type": "application/json", "x-fault-inject": "no_such_point=0.5", "x-fault-token": faultToken }, body: Buffer.from('{"events":[]}') });
    requests++;
    check(`POST /v1/events with a fault token`, answer, [faultToken]);
  }
  // 401 bodies may differ by route (the message names the token a route needs), never by credential
  const perRoute = new Map<string, number>();
  for (const entry of bodies401) {
    const route = entry.split("\u0000")[0] as string;
    perRoute.set(route, (perRoute.get(route) ?? 0) + 1);
  }
  return { requests, echoingAnswers: echoing, not401, distinct401Bodies: Math.max(0, ...perRoute.values()), needles };
}

/** Every file wrangler wrote to its log directory: each line it printed on stdout or stderr, at any level. */
function readWranglerLogs(directory: string): { text: string; files: number } {
  const files = readdirSync(directory).filter((name) => name.endsWith(".log"));
  return { text: files.map((name) => readFileSync(join(directory, name), "utf8")).join("\n"), files: files.length };
}

/**
 * Runs `start` with WRANGLER_LOG_PATH set to `logDirectory`: each wrangler it spawns (with this process's environment)
 * writes its log file there, `wrangler-<time>.log`.
 */
async function withWranglerLogs<T>(logDirectory: string, start: () => Promise<T>): Promise<T> {
  const previous = process.env.WRANGLER_LOG_PATH;
  process.env.WRANGLER_LOG_PATH = logDirectory;
  try {
    return await start();
  } finally {
    if (previous === undefined) delete process.env.WRANGLER_LOG_PATH;
    else process.env.WRANGLER_LOG_PATH = previous;
  }
}

/** wrangler.toml with the `[[ratelimits]]` binding's simple limit replaced (written next to it, for `--config`). */
function loweredRateLimitConfig(checkout: string, limit: number, period: number): { path: string; committed: string } {
  const text = readFileSync(join(checkout, "wrangler.toml"), "utf8");
  const pattern = /(\[\[ratelimits\]\][^[]*?simple\s*=\s*)\{\s*limit\s*=\s*(\d+)\s*,\s*period\s*=\s*(\d+)\s*\}/;
  const match = pattern.exec(text);
  if (!match) throw new Error("wrangler.toml: no [[ratelimits]] binding with a simple limit to lower");
  const path = join(checkout, "wrangler.limits-run.toml");
  writeFileSync(path, text.replace(pattern, `$1{ limit = ${limit}, period = ${period} }`));
  return { path, committed: `${match[2]} per ${match[3]} s` };
}

export async function runLimits(options: LimitsOptions): Promise<ReliabilitySectionResult> {
  const started = performance.now();
  const { smoke } = options;
  const log = (line: string) => options.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`);
  const tokens = freshTokens();
  const snapshot = options.workingTree ? undefined : snapshotOfHead("reliability-limits-worker");
  let bundle: string;
  try {
    // the bundle of the code served: HEAD's own fixture for a snapshot (one built from the working tree may not decode)
    bundle = snapshot ? await fixtureBundleOf(snapshot.directory) : (await fixtureBundleDirectory()).bundle;
  } catch (error) {
    snapshot?.dispose();
    throw error;
  }
  log("fixture bundle ready");
  const persistTo = mkdtempSync(join(tmpdir(), "reliability-limits-"));
  const persistRate = mkdtempSync(join(tmpdir(), "reliability-limits-rate-"));
  const logDirectory = mkdtempSync(join(tmpdir(), "reliability-limits-logs-"));
  const checkout = snapshot?.directory ?? REPO_ROOT;
  const served = snapshot ? `HEAD (${snapshot.commit}), snapshotted` : "the working tree";
  const lowered = smoke ? LOWERED_RATE_LIMIT.smoke : LOWERED_RATE_LIMIT.full;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  let main: DevServer | undefined;
  let rate: DevServer | undefined;
  let rateConfig: { path: string; committed: string } | undefined;
  try {
    const files = await loadBundleDirectory(bundle);
    const tables = BundleTables.decode(files.manifest, files.files);
    await publishDirectory(bundle, { kind: "local", configPath: join(REPO_ROOT, "wrangler.toml"), binding: "BUNDLES", persistTo }, { log: () => {} });
    log("bundle published");
    rateConfig = loweredRateLimitConfig(checkout, lowered.limit, lowered.period);
    // two servers of the same snapshot, started together: the committed config, and the lowered rate limit
    const ratePath = rateConfig.path;
    [main, rate] = await withWranglerLogs(logDirectory, () => Promise.all([startDevServer(persistTo, 120_000, varArgs(tokens), checkout), startDevServer(persistRate, 120_000, [...varArgs(tokens), "--config", ratePath], checkout)]));
    log(`wrangler dev up at ${main.url} and ${rate.url} (rate limit ${lowered.limit} per ${lowered.period} s; serving ${served}) in ${(main.bootMs / 1000).toFixed(1)} / ${(rate.bootMs / 1000).toFixed(1)} s`);
    // the first request loads the bundle (a cold start on a loaded machine may answer 503 within its budgets): a few
    // tries. Should the bundle not load (with --working-tree, the fixture is built from the tree's pipeline as it is),
    // the run goes on without one (the routes that need it answer 503 bundle_unavailable, past the size check, which
    // is what is measured) and says so
    let servedConfig: unknown = {};
    let bundleProblem: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const config = await send(agent, main.url, { method: "GET", path: "/v1/admin/config", headers: { authorization: `Bearer ${tokens.ADMIN_TOKEN}` } });
      const parsed: unknown = config.status === 200 ? JSON.parse(config.body) : undefined;
      if (typeof parsed === "object" && parsed !== null && "config" in parsed) {
        servedConfig = parsed.config;
        break;
      }
      if (attempt >= 4) {
        bundleProblem = `GET /v1/admin/config answered ${config.status}: ${errorBody(config)?.message ?? config.body.slice(0, 300)}`;
        log(`no bundle served (${bundleProblem}); measuring without one`);
        break;
      }
      await sleep(1_000 * attempt);
    }
    const fixture: Fixture = { user: tables.users.ids.id(0), item: tables.items.ids.id(0), author: tables.items.authors.id(0), config: servedConfig };

    // the rate limit runs on its own server while the body limits and secrets run on the other
    const rateRun = measureRateLimit(agent, rate.url, tokens, fixture, lowered.limit, lowered.period, log);
    const documented = await documentedLimits(main.url);
    const bodyRoutes = API_ROUTES.filter((route): route is RouteContract & { body: NonNullable<RouteContract["body"]> } => route.body !== undefined);
    const bodyResults: BodyLimitResult[] = [];
    for (const route of bodyRoutes) {
      const headers: Record<string, string> = route.auth === undefined ? {} : { authorization: `Bearer ${tokens[route.auth.token]}` };
      const result = await measureBodyLimit(agent, main.url, route, headers, fixture, documented.get(`${route.method} ${route.path}`), !smoke);
      log(`  ${result.route}: accepts ${count(result.largestAccepted)} B (${result.statusAtLargest}), refuses ${count(result.smallestRefused)} B; chunked ${result.chunkedAtLimit}/${result.chunkedOverLimit}${result.problems.length > 0 ? `; ${result.problems.join("; ")}` : ""}`);
      bodyResults.push(result);
    }
    const secrets = await probeSecrets(agent, main.url, tokens);
    log(`  secrets: ${secrets.requests} requests, ${secrets.echoingAnswers.length} echoing answers, ${secrets.not401.length} wrong credentials not answered 401`);
    const rateResult = await rateRun;
    // what wrangler wrote: its log files, complete once it stopped
    await Promise.all([main.stop(), rate.stop()]);
    main = undefined;
    rate = undefined;
    const logs = readWranglerLogs(logDirectory);
    const inLogs = [...secrets.needles, ...Object.values(tokens)].filter((needle) => needle.length >= 8 && (logs.text.includes(needle) || logs.text.includes(Buffer.from(needle).toString("base64"))));

    const rows: ReliabilityRow[] = [
      ...bodyResults.map((result): ReliabilityRow => ({
        section: SECTION,
        measure: `body limit ${result.route}`,
        value: `accepts ${count(result.largestAccepted)} B (${result.statusAtLargest}), 413 from ${count(result.smallestRefused)} B${result.refusalShaped ? "" : " (not the JSON error)"}; chunked ${result.chunkedAtLimit} / ${result.chunkedOverLimit}`,
        bar: `${count(result.contract)} B (contract${result.documented === result.contract ? " and OpenAPI" : ""}), 413 payload_too_large above`,
        pass: result.problems.length === 0,
      })),
      {
        section: SECTION,
        measure: "rate limit per token: over it",
        value: `${rateResult.limitedStatus} ${rateResult.limitedCode ?? "?"} after ${rateResult.allowed} of ${rateResult.limit} per ${rateResult.period} s, Retry-After ${rateResult.retryAfter ?? "none"}; ingest token meanwhile ${rateResult.otherClassStatus}, wrong admin token ${rateResult.wrongTokenStatus}`,
        bar: "429 rate_limited with Retry-After; other tokens served",
        pass: rateResult.problems.filter((problem) => !problem.startsWith("served again") && !problem.startsWith("still limited")).length === 0,
      },
      {
        section: SECTION,
        measure: "rate limit per token: recovery",
        value: Number.isNaN(rateResult.recoverySeconds) ? "not recovered" : `served again ${rateResult.recoverySeconds.toFixed(1)} s after the first 429`,
        bar: `≤ Retry-After (${rateResult.retryAfter ?? "?"} s)`,
        pass: !Number.isNaN(rateResult.recoverySeconds) && rateResult.recoverySeconds <= Number(rateResult.retryAfter ?? 0) + 1,
      },
      { section: SECTION, measure: "secrets echoed in answers (bodies, headers)", value: `${secrets.echoingAnswers.length} of ${count(secrets.requests)}`, bar: "0", pass: secrets.echoingAnswers.length === 0 },
      { section: SECTION, measure: "wrong credentials answered other than 401", value: `${secrets.not401.length}; 401 bodies per route: ${secrets.distinct401Bodies}`, bar: "0; 1", pass: secrets.not401.length === 0 && secrets.distinct401Bodies === 1 },
      { section: SECTION, measure: "secrets in wrangler's output", value: `${inLogs.length} of ${count(secrets.needles.size)} strings in ${count(logs.text.length)} chars (${logs.files} log files)`, bar: "0", pass: inLogs.length === 0 && logs.files > 0 },
    ];
    const seconds = (performance.now() - started) / 1000;
    const problems = [...bodyResults.flatMap((result) => result.problems.map((problem) => `${result.route}: ${problem}`)), ...rateResult.problems.map((problem) => `rate limit: ${problem}`), ...secrets.echoingAnswers, ...secrets.not401.map((entry) => `not 401: ${entry}`), ...inLogs.map(() => "a token in wrangler's output")];
    const markdown = [
      `### Limits${smoke ? " (smoke)" : ""}`,
      "",
      `The Worker in \`wrangler dev\` (${served}, fixture bundle, fresh local state, tokens random per run). ${smoke ? "Each body limit probed on both sides of the contract's edge" : "Each body limit found by bisection between the smallest valid body and twice the contract's number, then probed on both sides"}, with Content-Length and chunked (without one); bodies are valid requests padded with spaces, so what is accepted is served${bundleProblem === undefined ? "" : ` — except that this run had no bundle to serve (${bundleProblem}), so the routes that need one answered 503 \`bundle_unavailable\` past the size check`}.`,
      "",
      "| route | contract | OpenAPI | largest accepted (status) | smallest refused | 413 body | chunked at / over | requests |",
      "|---|---:|---:|---|---:|---|---|---:|",
      ...bodyResults.map((result) => `| ${result.route} | ${count(result.contract)} | ${result.documented === undefined ? "—" : count(result.documented)} | ${count(result.largestAccepted)} (${result.statusAtLargest}) | ${count(result.smallestRefused)} | ${result.refusalShaped ? "`payload_too_large`, field `body`" : "**not the JSON error**"} | ${result.chunkedAtLimit} / ${result.chunkedOverLimit}${result.chunkedRefusalShaped ? "" : " (**not the JSON error**)"} | ${result.requests} |`),
      "",
      `Rate limit: a second \`wrangler dev\` of the same snapshot with the \`RATE_LIMITER\` binding's limit lowered from the committed ${rateConfig.committed} to ${lowered.limit} per ${lowered.period} s (more than this machine can send through wrangler's proxy otherwise; code and binding unchanged). From the start of a fresh window the admin token was served ${rateResult.allowed} times, then answered ${rateResult.limitedStatus} \`${rateResult.limitedCode ?? "?"}\` with \`Retry-After: ${rateResult.retryAfter ?? "none"}\`; meanwhile the ingest token's \`POST /v1/events\` answered ${rateResult.otherClassStatus} (route classes count apart) and a wrong admin token ${rateResult.wrongTokenStatus} (refused before it is counted: failed authentications are not rate-limited). Served again ${Number.isNaN(rateResult.recoverySeconds) ? "never, within the bound" : `${rateResult.recoverySeconds.toFixed(1)} s after the first 429`} (the binding counts in fixed windows of its period, so the wait is the rest of the window; \`Retry-After\` states the period, ${rateResult.retryAfter ?? "?"} s, an upper bound).`,
      "",
      `Secrets: ${count(secrets.requests)} requests — wrong credentials (last character changed, one longer, a prefix, random, another secret's, Basic, no scheme, lower-case scheme) to the routes of each of \`ADMIN_TOKEN\`, \`INGEST_TOKEN\`, \`FEED_TOKEN\`, and right ones on failing requests (malformed JSON, a body over the limit, an unknown path) and as the fault hook's token. ${secrets.echoingAnswers.length} answers held a token in their body or headers; ${secrets.not401.length} wrong credentials answered other than 401; the 401 bodies of a route are ${secrets.distinct401Bodies === 1 ? "identical whatever was wrong" : `${secrets.distinct401Bodies} different`}. wrangler's log files (${logs.files}, ${count(logs.text.length)} characters: every line it printed, at every level, the Worker's console included) hold ${inLogs.length} of the ${count(secrets.needles.size)} strings searched (the tokens and every credential sent, plain and base64). Section ${seconds.toFixed(0)} s.`,
      ...(problems.length > 0 ? ["", "Problems:", "", ...problems.slice(0, 40).map((problem) => `- ${problem}`)] : []),
      "",
    ].join("\n");
    return { section: SECTION, rows, markdown, ok: rows.every((row) => row.pass) };
  } finally {
    agent.destroy();
    await Promise.all([main?.stop(), rate?.stop()]);
    for (const directory of [persistTo, persistRate, logDirectory]) rmSync(directory, { recursive: true, force: true });
    snapshot?.dispose();
    if (!snapshot && rateConfig) rmSync(rateConfig.path, { force: true });
  }
}

export const runLimitsSection: ReliabilitySection = (options) => runLimits(options);

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false }, "working-tree": { type: "boolean", default: false } } });
  const result = await runLimits({ smoke: values.smoke, log: (line) => console.log(line), workingTree: values["working-tree"] });
  console.log(`\n${result.markdown}`);
  for (const row of result.rows) console.log(`${row.pass ? "PASS" : "FAIL"}  ${row.measure}: ${row.value} (bar ${row.bar})`);
  process.exitCode = result.ok ? 0 : 1;
}
