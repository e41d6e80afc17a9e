// Section 1 of `npm run reliability` (issue 17): fuzzing. Starts the real Worker in `wrangler dev` on loopback, serving
// the fixture bundle from a fresh local KV, reads the contract it serves (`GET /openapi.json`), and sends fast-check
// cases generated from it — valid-ish bodies per route, then mutated (wrong types, missing and extra fields, huge
// arrays and strings, deep nesting, invalid UTF-8, wrong content types, truncated and oversized bodies, ids and
// timestamps at the edges, duplicate event ids, hostile sourcing queries), with and without the right tokens.
// Every answer must be < 500, every 4xx must carry the error body (a 400 naming its field), and none may take 1 s.
// A failing case is shrunk by fast-check and printed; the run goes on with a fresh seed so the counts stay whole.
//
// It serves a snapshot of HEAD (see snapshotOfHead), or the working tree with --working-tree, and sends to the Worker's own
// Miniflare socket rather than through wrangler's dev proxy (see runFuzz; --through-proxy to compare).
//
//   npx tsx scripts/reliability/fuzz.ts [--smoke] [--requests N] [--concurrency N] [--seed N] [--max-seconds S]
//                                        [--working-tree | --url <running dev server> --persist-to <its directory>] [--through-proxy]
import { request as httpRequest } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { operatorTable } from "../../core/query";
import { BundleTables } from "../../core/serving/bundle-tables";
import { SYNTHETIC_FIRST_DAY_MS } from "../models/synthetic-kuairand";
import { apiErrorBody, queryErrorBody } from "../../worker/contract/errors";
import { fixtureBundleDirectory, FIXTURE_DATA_OPTIONS } from "../../test/support/fixture-bundle";
import { startDevServer, REPO_ROOT, type DevServer } from "../bench/wrangler";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { publishDirectory } from "../lib/kv-publish";
import { caseFor, materialiseBody, mutateValue, readContract, type Contract, type FuzzCase, type GeneratorContext, type Operation, queryText, type Vocabulary } from "./fuzz-generators";
import { fixtureBundleOf, snapshotOfHead } from "./snapshot";
import type { ReliabilityRow, ReliabilitySection, ReliabilitySectionOptions, ReliabilitySectionResult } from "./section";

const SECTION = "fuzzing";
/** The tokens this run's `wrangler dev` holds (--var), so a `.dev.vars` someone else keeps does not decide them. */
const TOKENS: Readonly<Record<string, string>> = { ADMIN_TOKEN: "fuzz-admin-token", INGEST_TOKEN: "fuzz-ingest-token", FEED_TOKEN: "fuzz-feed-token" };
const SLOW_MS = 1000;
/** A request still unanswered after this is counted as hung (and fails its case). */
const HUNG_MS = 30_000;
/** Shrunk counterexamples kept per run; past this the run only counts (one broken path would otherwise shrink forever). */
const MAX_COUNTEREXAMPLES = 6;
/** Failed answers kept whole (request, status, headers, body) for the report; past this they are only counted. */
const MAX_FAILURES = 25;
/** Distinct problem texts counted one by one; past this they share one "other" count. */
const MAX_PROBLEM_KINDS = 100;

export interface FuzzOptions extends ReliabilitySectionOptions {
  readonly requests?: number;
  readonly concurrency?: number;
  readonly seed?: number;
  /** The wall-clock bound of the fuzzing loop (default 2 min smoke, 30 min full): it stops there, counts or not. */
  readonly maxSeconds?: number;
  /** A Worker already running there (published, with TOKENS), instead of starting one: to watch its own output. */
  readonly url?: string;
  /** With `url`: the persistence directory it serves, where the bundle is published. */
  readonly persistTo?: string;
  /** Serve the working tree as it is instead of a snapshot of HEAD. */
  readonly workingTree?: boolean;
  /**
   * Send through wrangler dev's proxy (its ProxyWorker) instead of to the Worker's own Miniflare socket: to see what
   * the proxy does to the fuzzed requests (see runFuzz), not to measure the Worker.
   */
  readonly throughProxy?: boolean;
}


/** What one request came back with. */
interface Outcome {
  readonly status: number;
  readonly ms: number;
  /** Why the answer breaks an expectation (status, error body), if it does; latency is counted, not failed on. */
  readonly problem: string | undefined;
  readonly shapeViolation: boolean;
}

interface Counterexample {
  readonly operation: string;
  readonly problem: string;
  readonly shrinks: number;
  readonly recipe: string;
  readonly seed: number;
}

/** One failed answer as it came: what was sent, and everything that came back. */
interface FailureRecord {
  readonly request: string;
  readonly status: number;
  readonly ms: number;
  readonly headers: string;
  readonly body: string;
  readonly problem: string;
}

/** Latencies as a histogram of whole milliseconds up to HUNG_MS (the last bucket holds everything above): a full run's
 * percentiles in constant memory. */
class LatencyHistogram {
  private readonly buckets = new Uint32Array(HUNG_MS + 1);
  private total = 0;

  add(ms: number): void {
    const bucket = Math.min(HUNG_MS, Math.max(0, Math.floor(ms)));
    this.buckets[bucket] = (this.buckets[bucket] as number) + 1;
    this.total++;
  }

  /** The upper edge of the bucket holding the q-quantile. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.min(this.total, Math.floor(q * this.total) + 1);
    let seen = 0;
    for (let ms = 0; ms < this.buckets.length; ms++) {
      seen += this.buckets[ms] as number;
      if (seen >= rank) return ms + 1;
    }
    return HUNG_MS;
  }
}

/** Running counts only (and the first MAX_FAILURES failures whole): a full run's memory does not grow with its requests. */
class Tally {
  requests = 0;
  shrinkRequests = 0;
  serverErrors = 0;
  shapeViolations = 0;
  clientErrors = 0;
  slow = 0;
  maxMs = 0;
  hung = 0;
  otherProblems = 0;
  /** Requests whose upload of a body over the limit was reset, answered instead by a replay cut to the limit + 1 byte. */
  cutUploads = 0;
  /** The longest the client took to build one case's bytes, and how many took 100 ms or more. */
  maxBuildMs = 0;
  slowBuilds = 0;
  readonly latencies = new LatencyHistogram();
  readonly failures: FailureRecord[] = [];
  /** The first MAX_FAILURES answers that took SLOW_MS or more, whole. */
  readonly slowAnswers: FailureRecord[] = [];
  readonly statuses = new Map<number, number>();
  readonly byOperation = new Map<string, Map<number, number>>();
  readonly byMutation = new Map<string, { requests: number; serverErrors: number }>();
  readonly undocumented = new Map<string, number>();
  readonly problems = new Map<string, number>();
  /** What was in flight beside each failed request, by kind, against how often each kind is sent at all: a request
   * that breaks the connection it shares breaks its neighbours, and shows up here rather than as the failure. */
  readonly beside = new Map<string, number>();
  readonly sent = new Map<string, number>();
  failuresWithNeighbours = 0;

  record(operation: Operation, fuzzCase: FuzzCase, outcome: Outcome): void {
    this.requests++;
    this.statuses.set(outcome.status, (this.statuses.get(outcome.status) ?? 0) + 1);
    const perOperation = this.byOperation.get(operation.operationId) ?? new Map<number, number>();
    perOperation.set(outcome.status, (perOperation.get(outcome.status) ?? 0) + 1);
    this.byOperation.set(operation.operationId, perOperation);
    const mutation = `${fuzzCase.valueMutation.kind}/${fuzzCase.byteMutation.kind}`;
    const perMutation = this.byMutation.get(mutation) ?? { requests: 0, serverErrors: 0 };
    perMutation.requests++;
    if (outcome.status >= 500 || outcome.status === 0) perMutation.serverErrors++;
    this.byMutation.set(mutation, perMutation);
    if (outcome.status >= 500 || outcome.status === 0) this.serverErrors++;
    if (outcome.status === 0) this.hung++;
    if (outcome.status >= 400 && outcome.status < 500) this.clientErrors++;
    if (outcome.shapeViolation) this.shapeViolations++;
    if (outcome.problem) {
      const key = outcome.problem.slice(0, 160);
      if (this.problems.has(key) || this.problems.size < MAX_PROBLEM_KINDS) this.problems.set(key, (this.problems.get(key) ?? 0) + 1);
      else this.otherProblems++;
    }
    if (outcome.status !== 0 && !operation.statuses.includes(outcome.status)) {
      const key = `${operation.method.toUpperCase()} ${operation.path} ${outcome.status}`;
      this.undocumented.set(key, (this.undocumented.get(key) ?? 0) + 1);
    }
    if (outcome.ms >= SLOW_MS) this.slow++;
    this.maxMs = Math.max(this.maxMs, outcome.ms);
    this.latencies.add(outcome.ms);
  }

  quantile(q: number): number {
    return this.latencies.quantile(q);
  }
}

/** The fixture bundle's ids and days, for bodies that reach past validation into the funnel. */
async function fixtureVocabulary(bundleDirectory: string): Promise<Vocabulary> {
  const files = await loadBundleDirectory(bundleDirectory);
  const tables = BundleTables.decode(files.manifest, files.files);
  const sample = (size: number, id: (row: number) => string, limit: number) => Array.from({ length: Math.min(size, limit) }, (_, i) => id(Math.floor((i * size) / Math.min(size, limit))));
  return {
    users: sample(tables.users.ids.size, (row) => tables.users.ids.id(row), 200),
    items: sample(tables.items.ids.size, (row) => tables.items.ids.id(row), 200),
    authors: sample(tables.items.authors.size, (row) => tables.items.authors.id(row), 100),
    dayMs: Array.from({ length: FIXTURE_DATA_OPTIONS.days }, (_, day) => SYNTHETIC_FIRST_DAY_MS + day * 86_400_000),
  };
}

/** The request a case stands for: method, path, headers and body bytes. */
export interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly chunked: boolean;
}

export function requestFor(contract: Contract, fuzzCase: FuzzCase): FuzzRequest {
  const operation = contract.operations[fuzzCase.operation] as Operation;
  let path = operation.path;
  operation.params.forEach((param, index) => (path = path.replace(`{${param.name}}`, fuzzCase.params[index] ?? "x")));
  const headers: Record<string, string> = {};
  const own = operation.token === undefined ? undefined : TOKENS[operation.token];
  const other = Object.entries(TOKENS).find(([name]) => name !== operation.token)?.[1] ?? "other";
  if (fuzzCase.auth === "right" && own !== undefined) headers.authorization = `Bearer ${own}`;
  if (fuzzCase.auth === "wrong") headers.authorization = `Bearer ${own ?? "x"}x`;
  if (fuzzCase.auth === "other_token") headers.authorization = `Bearer ${other}`;
  if (fuzzCase.auth === "malformed") headers.authorization = fuzzCase.malformedAuth;
  if (fuzzCase.contentType !== null) headers["content-type"] = fuzzCase.contentType;
  const value = mutateValue(fuzzCase.value, fuzzCase.valueMutation);
  const { bytes, chunked } = materialiseBody(value, fuzzCase.byteMutation, operation.body?.maxBytes ?? 1024);
  const bodiless = operation.body === undefined && fuzzCase.byteMutation.kind === "empty";
  return { method: operation.method.toUpperCase(), path: path + fuzzCase.query, headers, body: bodiless ? new Uint8Array(0) : bytes, chunked };
}

/** A case as a reader can replay it: the request line, headers and (the start of) the body. */
export function describeRequest(request: FuzzRequest): string {
  const text = Buffer.from(request.body).toString("latin1");
  const body = text.length > 600 ? `${JSON.stringify(text.slice(0, 300))} … ${JSON.stringify(text.slice(-200))} (${request.body.length} bytes)` : JSON.stringify(text);
  return `${request.method} ${request.path.length > 200 ? `${request.path.slice(0, 200)}…` : request.path} ${JSON.stringify(request.headers).slice(0, 300)}${request.chunked ? " chunked" : ""} body ${body}`;
}

/** What one request came back with, as sent and received. */
interface Answer {
  readonly status: number;
  readonly contentType: string;
  /** The response's raw header lines, as sent. */
  readonly headers: readonly string[];
  readonly body: Buffer;
  readonly ms: number;
  /**
   * The connection was reset (ECONNRESET, EPIPE) before any answer could be read: the peer closed it with the body
   * not all read. The kernel may have taken the whole body by then, so this is not only "while sending".
   */
  readonly uploadCut: boolean;
}

/** How much of a body goes out per write: between writes the client looks for an early answer. */
const WRITE_CHUNK = 64 * 1024;

/**
 * Sends one request over node:http (fetch would not send a body on GET or let a body go chunked at will) and times it
 * to the last byte.
 *
 * A connection per request (`agent: false`; the workers bound how many are open): the Worker may answer (401, 413)
 * before reading a body, and what it left unread of one request would otherwise be parsed as the next request on a
 * kept-alive connection (a 501 "Unrecognized request method" charged to an innocent case). An `Agent` with
 * `keepAlive: false` is not enough: with a finite `maxSockets` Node keeps its sockets alive and hands them on.
 *
 * The body goes out in pieces, and stops once an answer has begun, as RFC 9112 (section 9.5) asks of a client: the
 * Worker answers a body over its route's limit with a 413 and stops reading it past four times the limit, and a
 * client still pushing megabytes into the closed connection only gets it reset.
 */
function send(baseUrl: URL, request: FuzzRequest): Promise<Answer> {
  return new Promise((resolve) => {
    const started = performance.now();
    const headers: Record<string, string | number> = { ...request.headers };
    if (!request.chunked) headers["content-length"] = request.body.length;
    let settled = false;
    let answered = false;
    let uploaded = false;
    let reset = false;
    const finish = (status: number, contentType: string, body: Buffer, rawHeaders: readonly string[] = []) => {
      if (settled) return;
      settled = true;
      resolve({ status, contentType, headers: rawHeaders, body, ms: performance.now() - started, uploadCut: status === 0 && !answered && reset });
    };
    let outgoing: ReturnType<typeof httpRequest>;
    try {
      outgoing = httpRequest({ host: baseUrl.hostname, port: baseUrl.port, method: request.method, path: request.path, headers, agent: false, timeout: HUNG_MS }, (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          finish(response.statusCode ?? 0, String(response.headers["content-type"] ?? ""), Buffer.concat(chunks), response.rawHeaders);
          // the rest of a body the Worker did not wait for stays unsent
          outgoing.destroy();
        });
        response.on("error", (error) => finish(0, "", Buffer.from(`response error: ${error.message}`)));
      });
    } catch (error) {
      // Node refused to send it (a header it will not write): the case is not a request; say so without a status
      finish(-1, "", Buffer.from((error as Error).message));
      return;
    }
    // the Worker may close the connection while the body is still going out (it answered early): that is an answer,
    // not a crash of this process
    outgoing.on("socket", (socket) => socket.on("error", () => {}));
    outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer within ${HUNG_MS} ms`)));
    outgoing.on("error", (error: NodeJS.ErrnoException) => {
      reset = error.code === "ECONNRESET" || error.code === "EPIPE";
      finish(0, "", Buffer.from(`request error${uploaded ? " (body sent)" : " (while sending the body)"}: ${error.message}`));
    });
    // chunked: at least two writes without a length, so the Worker must count while it reads
    const pieces: Uint8Array[] = [];
    const halves = request.chunked && request.body.length > 1 ? [request.body.subarray(0, Math.floor(request.body.length / 2)), request.body.subarray(Math.floor(request.body.length / 2))] : [request.body];
    for (const half of halves) for (let at = 0; at < half.length; at += WRITE_CHUNK) pieces.push(half.subarray(at, at + WRITE_CHUNK));
    const pump = async () => {
      for (const piece of pieces) {
        if (answered || settled) return;
        if (!outgoing.write(piece)) {
          await new Promise<void>((resume) => {
            const go = () => {
              outgoing.off("drain", go);
              outgoing.off("close", go);
              resume();
            };
            outgoing.on("drain", go);
            outgoing.on("close", go);
          });
        }
      }
      if (answered || settled) return;
      outgoing.end(() => (uploaded = true));
    };
    void pump();
  });
}

/**
 * `send`, and when the connection was reset before any answer could be read while the body was over the route's limit
 * (the Worker refuses such a body from its Content-Length, or while counting a chunked one, stops reading it past
 * four times the limit, and closes the socket on the unread rest: the reset that meets the client's writes destroys its
 * socket before the 413 waiting on it is read), the
 * same request once more with the body cut to the limit + 1 byte, whose answer is read and judged in its place.
 * Counted, and said in the report. A reset with a body within the limit, or of a cut replay, stays a failure.
 */
async function sendJudged(baseUrl: URL, request: FuzzRequest, operation: Operation, tally: Tally, shrinking: boolean): Promise<Answer> {
  const answer = await send(baseUrl, request);
  const limit = operation.body?.maxBytes ?? 0;
  if (answer.status !== 0 || !answer.uploadCut || request.body.length <= limit) return answer;
  if (!shrinking) tally.cutUploads++;
  const replay = await send(baseUrl, { ...request, body: request.body.subarray(0, limit + 1) });
  return { ...replay, ms: Math.max(replay.ms, answer.ms) };
}

function recordFailure(request: FuzzRequest, answer: Answer, problem: string): FailureRecord {
  const headers: string[] = [];
  for (let i = 0; i + 1 < answer.headers.length; i += 2) headers.push(`${answer.headers[i]}: ${answer.headers[i + 1]}`);
  return { request: describeRequest(request), status: answer.status, ms: answer.ms, headers: headers.join("; ").slice(0, 600), body: answer.body.toString("utf8").slice(0, 600), problem: problem.slice(0, 300) };
}

function describeFailure(failure: FailureRecord): string {
  return `status ${failure.status} in ${ms(failure.ms)}\n    request: ${failure.request}\n    headers: ${failure.headers}\n    body: ${JSON.stringify(failure.body)}`;
}

/** Holds one answer to the expectations: < 500, and a 4xx is the error body (`field` on every 400). */
function judge(operation: Operation, status: number, contentType: string, body: Buffer): { problem: string | undefined; shapeViolation: boolean } {
  const text = body.toString("utf8");
  if (status === 0) return { problem: `no answer: ${text}`, shapeViolation: false };
  if (status >= 500) return { problem: `status ${status}: ${text.slice(0, 300)}`, shapeViolation: false };
  if (status < 400) return { problem: undefined, shapeViolation: false };
  const violation = (why: string) => ({ problem: `status ${status} ${why}: ${text.slice(0, 300)}`, shapeViolation: true });
  if (!/^application\/json\b/i.test(contentType)) return violation(`has content-type ${JSON.stringify(contentType)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return violation("is not JSON");
  }
  // /v1/query locates a query's problem in the text: its 400 is the error body with the query's fields beside
  const shape = operation.operationId === "query" && status === 400 ? apiErrorBody.or(queryErrorBody) : apiErrorBody;
  const checked = shape.safeParse(parsed);
  if (!checked.success) return violation(`is not the error body (${checked.error.issues[0]?.message ?? "?"})`);
  // the contract's 400: "`field` names the first offending one"
  if (status === 400 && (checked.data.error.field === undefined || checked.data.error.field === "")) return violation("names no field");
  return { problem: undefined, shapeViolation: false };
}

/** A case's kind for the neighbour statistics: route, token, and both mutations. */
function kindOf(operation: Operation, fuzzCase: FuzzCase): string {
  const bytes = fuzzCase.byteMutation.kind === "oversize" ? `oversize${fuzzCase.byteMutation.chunked ? "-chunked" : ""}` : fuzzCase.byteMutation.kind;
  return `${operation.method.toUpperCase()} ${operation.path} auth=${fuzzCase.auth} ${fuzzCase.valueMutation.kind}/${bytes}`;
}

/** Valid requests before the run, so the bundle's first load (seconds, once per isolate) is not counted as a slow answer. */
async function warmUp(url: string, vocabulary: Vocabulary): Promise<void> {
  const user = vocabulary.users[0] ?? "1";
  const calls: [string, string, string | undefined][] = [
    ["/v1/explore", JSON.stringify({ user_id: user, count: 10 }), TOKENS.FEED_TOKEN],
    ["/v1/suggested", JSON.stringify({ user_id: user, count: 10 }), TOKENS.FEED_TOKEN],
    ["/v1/query", JSON.stringify({ user_id: user, query: "user.user_nn(n=10)" }), TOKENS.ADMIN_TOKEN],
    ["/v1/inspect", JSON.stringify({ user_id: user, count: 10 }), TOKENS.ADMIN_TOKEN],
  ];
  for (let round = 0; round < 3; round++) {
    for (const [path, body, token] of calls) {
      const response = await fetch(`${url}${path}`, { method: "POST", body, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, signal: AbortSignal.timeout(60_000) });
      if (response.status !== 200) throw new Error(`warm-up ${path} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
      await response.arrayBuffer();
    }
  }
}

const count = (n: number) => n.toLocaleString("en-US");
const ms = (n: number) => `${Math.round(n)} ms`;

/** The section: start the Worker, fuzz it, stop it. */
export async function runFuzz(options: FuzzOptions): Promise<ReliabilitySectionResult> {
  const { smoke, log } = options;
  const total = options.requests ?? (smoke ? 2_000 : 100_000);
  const concurrency = options.concurrency ?? (smoke ? 8 : 12);
  const baseSeed = options.seed ?? Date.now() % 2 ** 31;
  const started = performance.now();
  const snapshot = options.workingTree || options.url !== undefined ? undefined : snapshotOfHead("reliability-fuzz-worker");
  // HEAD's Worker gets HEAD's own fixture bundle: the working tree's pipeline or serving config may hold edits that
  // HEAD's Worker cannot decode
  let bundle: string;
  let vocabulary: Vocabulary;
  try {
    bundle = snapshot ? await fixtureBundleOf(snapshot.directory) : (await fixtureBundleDirectory()).bundle;
    vocabulary = await fixtureVocabulary(bundle);
  } catch (error) {
    snapshot?.dispose();
    throw error;
  }
  const persistTo = mkdtempSync(join(tmpdir(), "reliability-fuzz-"));
  let dev: DevServer | undefined;
  const served = snapshot ? `HEAD (${snapshot.commit}), snapshotted` : "the working tree";
  try {
    await publishDirectory(bundle, { kind: "local", configPath: join(REPO_ROOT, "wrangler.toml"), binding: "BUNDLES", persistTo: options.persistTo ?? persistTo }, { log: () => {} });
    const direct = options.url === undefined && !options.throughProxy;
    dev = options.url !== undefined ? { url: options.url, pid: 0, bootMs: 0, stop: async () => {} } : await startDevServer(persistTo, 120_000, Object.entries(TOKENS).flatMap(([name, value]) => ["--var", `${name}:${value}`]), snapshot?.directory ?? REPO_ROOT, { directUserWorker: direct });
    // The Worker's own socket, not wrangler's proxy in front of it. That proxy (wrangler's ProxyWorker, one Durable
    // Object every dev request passes through, which no deployed Worker has) turns a connection the Worker closes
    // early into a fault of its own: the Worker answers a body it refuses (413, 401) without reading it, as it may, the
    // proxy's fetch to it then fails as a network error, and the proxy, which takes any such error for a reload (it
    // compares the request's URL with the Worker's bare origin, which never match), answers a POST with a plain-text 503
    // "Your worker restarted mid-request" and queues a GET to be retried inside the next request, whatever it is: that
    // one then fails with a plain-text 500 ("Promise will never complete": its answer belongs to another request's I/O
    // context; "Cannot reconstruct a Request with a used body": the queued GET carried a body). `--through-proxy`
    // sends through the proxy to show this; the Worker and everything behind it (workerd, Miniflare's entry worker, the
    // local KV, Durable Objects and R2) are the same either way.
    const target = direct ? dev.userWorkerUrl : dev.url;
    if (target === undefined) throw new Error("wrangler dev did not name the Worker's own socket");
    log(`wrangler dev up at ${dev.url} in ${(dev.bootMs / 1000).toFixed(1)} s, serving ${served}; fuzzing ${direct ? `the Worker's own socket ${target}, not wrangler's proxy` : target}`);
    const documentResponse = await fetch(`${target}/openapi.json`);
    if (documentResponse.status !== 200) throw new Error(`GET /openapi.json answered ${documentResponse.status}`);
    const contract = readContract(await documentResponse.json());
    await warmUp(target, vocabulary);
    const operators = operatorTable();
    const context: GeneratorContext = {
      components: contract.components,
      vocabulary,
      query: queryText(
        operators.map((operator) => operator.name),
        [...new Set(operators.flatMap((operator) => operator.arguments.map((argument) => argument.name)).filter((name) => /^[a-z_]+$/.test(name)))],
      ),
    };
    // bodies are where the inputs are: routes that read one get three times the share of those that do not
    const arbitrary = fc.oneof(...contract.operations.map((operation, index) => ({ weight: operation.body ? 3 : 1, arbitrary: caseFor(index, operation, context) })));
    const baseUrl = new URL(target);
    const tally = new Tally();
    const counterexamples: Counterexample[] = [];
    const fuzzStarted = performance.now();
    // a wall-clock bound besides the count: the loop stops by itself even on a machine far slower than expected
    const deadline = fuzzStarted + (options.maxSeconds ?? (smoke ? 120 : 1800)) * 1000;
    let progressAt = 0;
    const inFlight = new Set<{ readonly kind: string; readonly neighbours: Set<string> }>();

    const worker = async (id: number, budget: number) => {
      let remaining = budget;
      for (let restart = 0; remaining > 0 && performance.now() < deadline; restart++) {
        const seed = (baseSeed + id * 100_003 + restart * 7919) % 2 ** 31;
        let shrinking = false;
        // the last problem a shrunk case showed: replaying it once may pass (state has moved on), the problem stays
        let lastProblem: string | undefined;
        let counted = 0;
        const property = fc.asyncProperty(arbitrary, async (fuzzCase) => {
          const operation = contract.operations[fuzzCase.operation] as Operation;
          const built = performance.now();
          const request = requestFor(contract, fuzzCase);
          const kind = kindOf(operation, fuzzCase);
          // the client's own work for a case stalls every request in flight beside it, and counts in their latency:
          // said, so a slow answer can be told from a slow client
          const buildMs = performance.now() - built;
          tally.maxBuildMs = Math.max(tally.maxBuildMs, buildMs);
          if (buildMs >= 100 && tally.slowBuilds++ < 10) log(`slow to build (${ms(buildMs)}, ${count(request.body.length)} bytes): ${kind}`);
          const flight = { kind, neighbours: new Set<string>() };
          for (const other of inFlight) {
            other.neighbours.add(kind);
            flight.neighbours.add(other.kind);
          }
          inFlight.add(flight);
          const answer = await sendJudged(baseUrl, request, operation, tally, shrinking).finally(() => inFlight.delete(flight));
          if (answer.status === -1) return true; // not sendable: no request was made
          const verdict = judge(operation, answer.status, answer.contentType, answer.body);
          if (!shrinking) {
            tally.sent.set(kind, (tally.sent.get(kind) ?? 0) + 1);
            if (answer.status >= 500 || answer.status === 0) {
              tally.failuresWithNeighbours++;
              for (const neighbour of flight.neighbours) tally.beside.set(neighbour, (tally.beside.get(neighbour) ?? 0) + 1);
            }
          }
          if (shrinking) {
            tally.shrinkRequests++;
          } else {
            tally.record(operation, fuzzCase, { status: answer.status, ms: answer.ms, ...verdict });
            if (verdict.problem !== undefined && tally.failures.length < MAX_FAILURES) {
              const failure = recordFailure(request, answer, verdict.problem);
              tally.failures.push(failure);
              log(`FAILURE ${describeFailure(failure)}`);
            }
            if (answer.ms >= SLOW_MS && tally.slowAnswers.length < MAX_FAILURES) {
              const slow = recordFailure(request, answer, `took ${ms(answer.ms)}`);
              tally.slowAnswers.push(slow);
              log(`SLOW ${describeFailure(slow)}`);
            }
            counted++;
            if (tally.requests >= progressAt) {
              progressAt += smoke ? 500 : 10_000;
              log(`${count(tally.requests)} requests, ${tally.serverErrors} ≥ 500, ${tally.shapeViolations} off the error shape, ${tally.slow} ≥ 1 s (max ${ms(tally.maxMs)}), ${tally.cutUploads} cut uploads replayed, client heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
            }
          }
          if (verdict.problem !== undefined && counterexamples.length < MAX_COUNTEREXAMPLES) {
            shrinking = true;
            lastProblem = verdict.problem;
            return false;
          }
          return true;
        });
        const result = await fc.check(property, { numRuns: remaining, seed, interruptAfterTimeLimit: Math.max(1000, deadline - performance.now()), markInterruptAsFailure: false });
        remaining -= counted;
        if (result.failed && result.counterexample !== null && counterexamples.length < MAX_COUNTEREXAMPLES) {
          const [fuzzCase] = result.counterexample;
          const operation = contract.operations[fuzzCase.operation] as Operation;
          const request = requestFor(contract, fuzzCase);
          const answer = await sendJudged(baseUrl, request, operation, tally, true);
          const verdict = judge(operation, answer.status, answer.contentType, answer.body);
          const example: Counterexample = {
            operation: `${operation.method.toUpperCase()} ${operation.path}`,
            problem: verdict.problem ?? `${lastProblem ?? String(result.errorInstance ?? "")} (passes when sent again)`,
            shrinks: result.numShrinks,
            recipe: `${describeRequest(request)}\n    case: ${JSON.stringify(fuzzCase).slice(0, 1500)}`,
            seed,
          };
          counterexamples.push(example);
          log(`COUNTEREXAMPLE (${example.shrinks} shrinks, seed ${seed}): ${example.problem}\n    ${example.recipe}`);
        }
        if (result.interrupted) break;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, id) => worker(id, Math.ceil(total / concurrency) - (id < (concurrency * Math.ceil(total / concurrency) - total) ? 1 : 0))));
    const fuzzSeconds = (performance.now() - fuzzStarted) / 1000;

    const covered = contract.operations.filter((operation) => tally.byOperation.has(operation.operationId)).length;
    const rows: ReliabilityRow[] = [
      { section: SECTION, measure: "fuzzed requests", value: `${count(tally.requests)} over ${covered} of ${contract.operations.length} routes`, bar: `≥ ${count(total)}, every route`, pass: tally.requests >= total && covered === contract.operations.length },
      { section: SECTION, measure: "responses ≥ 500 (or none)", value: `${count(tally.serverErrors)} of ${count(tally.requests)}`, bar: "0", pass: tally.serverErrors === 0 },
      { section: SECTION, measure: "4xx off the error body (a 400 without field)", value: `${count(tally.shapeViolations)} of ${count(tally.clientErrors)}`, bar: "0", pass: tally.shapeViolations === 0 },
      { section: SECTION, measure: "responses ≥ 1 s", value: `${count(tally.slow)} (max ${ms(tally.maxMs)}, p99 ${ms(tally.quantile(0.99))})`, bar: "0", pass: tally.slow === 0 },
      { section: SECTION, measure: "shrunk counterexamples", value: String(counterexamples.length), bar: "0", pass: counterexamples.length === 0 },
    ];
    const markdown = renderMarkdown({ served, via: direct ? "the Worker's own Miniflare socket (not wrangler's dev proxy in front of it, which no deployed Worker has: see `scripts/reliability/fuzz.ts`)" : "wrangler's dev proxy", smoke, tally, contract, counterexamples, fuzzSeconds, concurrency, seed: baseSeed, bootMs: dev.bootMs, rows });
    log(`fuzzing done: ${count(tally.requests)} requests in ${fuzzSeconds.toFixed(0)} s (+${count(tally.shrinkRequests)} while shrinking), whole section ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return { section: SECTION, rows, markdown, ok: rows.every((row) => row.pass) };
  } finally {
    await dev?.stop();
    rmSync(persistTo, { recursive: true, force: true });
    snapshot?.dispose();
  }
}

function renderMarkdown(run: { served: string; via: string; smoke: boolean; tally: Tally; contract: Contract; counterexamples: readonly Counterexample[]; fuzzSeconds: number; concurrency: number; seed: number; bootMs: number; rows: readonly ReliabilityRow[] }): string {
  const { tally } = run;
  const statuses = [...tally.statuses.keys()].sort((a, b) => a - b);
  const lines = [
    `## Fuzzing${run.smoke ? " (smoke)" : ""}`,
    "",
    `${count(tally.requests)} requests in ${run.fuzzSeconds.toFixed(0)} s (${(tally.requests / run.fuzzSeconds).toFixed(0)}/s, ${run.concurrency} in flight, seed ${run.seed}) against \`wrangler dev\` on 127.0.0.1 running ${run.served}, through ${run.via}, serving the fixture bundle ` +
      `(booted in ${(run.bootMs / 1000).toFixed(1)} s, warmed with 12 valid feed, query and inspect requests first), generated by fast-check from the Worker's own \`GET /openapi.json\`: ` +
      "a valid-ish body per route, then mutated (wrong types, dropped and extra fields, huge strings and arrays, deep nesting, numeric and time edges, odd strings, duplicate event ids, " +
      "invalid UTF-8, truncation, bodies over the limit with and without Content-Length, wrong content types, junk), with the right token, none, a wrong one, another route's, or a malformed header. " +
      `${count(tally.shrinkRequests)} more requests went to shrinking counterexamples and are not counted above. Latency is to the last byte of the answer, measured by the client on a machine shared with other work.`,
    "",
    "| measure | value | bar | pass |",
    "|---|---|---|---|",
    ...run.rows.map((row) => `| ${row.measure} | ${row.value} | ${row.bar} | ${row.pass ? "yes" : "**no**"} |`),
    "",
    `${count(tally.cutUploads)} requests with a body over the route's limit had their connection reset before the answer could be read (the Worker refuses such a body early and stops reading it past four times the limit); each was sent again with its body cut to the limit + 1 byte, and that answer is the one judged and counted. ` +
      `Latency: p50 ${ms(tally.quantile(0.5))}, p99 ${ms(tally.quantile(0.99))}, p99.9 ${ms(tally.quantile(0.999))}, max ${ms(tally.maxMs)} (to whole milliseconds, from a histogram). ` +
      `The client took at most ${ms(tally.maxBuildMs)} to build one case's bytes (${count(tally.slowBuilds)} took 100 ms or more), time every request in flight meanwhile waited too.`,
    "",
    `| route | requests | ${statuses.join(" | ")} |`,
    `|---|---:|${statuses.map(() => "---:").join("|")}|`,
    ...run.contract.operations.map((operation) => {
      const perStatus = tally.byOperation.get(operation.operationId) ?? new Map<number, number>();
      const sum = [...perStatus.values()].reduce((a, b) => a + b, 0);
      return `| ${operation.method.toUpperCase()} ${operation.path} | ${count(sum)} | ${statuses.map((status) => count(perStatus.get(status) ?? 0)).join(" | ")} |`;
    }),
  ];
  if (tally.undocumented.size > 0) {
    lines.push("", "Statuses a route answered that its entry in the OpenAPI document does not list:", "");
    for (const [key, n] of [...tally.undocumented].sort((a, b) => b[1] - a[1])) lines.push(`- ${key}: ${count(n)}`);
  }
  if (run.counterexamples.length > 0) {
    lines.push("", "Counterexamples (shrunk):", "");
    for (const example of run.counterexamples) lines.push(`- ${example.operation}: ${example.problem} (${example.shrinks} shrinks, seed ${example.seed})`, "  ```", `  ${example.recipe}`, "  ```");
  }
  if (tally.failuresWithNeighbours > 0) {
    // how much more often a kind was in flight beside a failure than its share of all requests would give
    const total = [...tally.sent.values()].reduce((a, b) => a + b, 0);
    const suspects = [...tally.beside]
      .map(([kind, n]) => ({ kind, n, lift: n / tally.failuresWithNeighbours / ((tally.sent.get(kind) ?? 1) / total) }))
      .filter((suspect) => suspect.n >= 2)
      .sort((a, b) => b.lift - a.lift)
      .slice(0, 10);
    lines.push("", `In flight beside the ${count(tally.failuresWithNeighbours)} failed requests (the kinds most over their share of all requests):`, "");
    for (const suspect of suspects) lines.push(`- ${suspect.kind}: beside ${suspect.n}, ${suspect.lift.toFixed(1)}× its share`);
  }
  if (tally.problems.size > 0) {
    lines.push("", "Problems seen (first 160 characters, with counts):", "");
    for (const [problem, n] of [...tally.problems].sort((a, b) => b[1] - a[1]).slice(0, 20)) lines.push(`- ${count(n)} × ${problem.replaceAll("\n", " ")}`);
    if (tally.otherProblems > 0) lines.push(`- ${count(tally.otherProblems)} × other problems (past the first ${MAX_PROBLEM_KINDS} kinds)`);
  }
  if (tally.failures.length > 0) {
    lines.push("", `The first ${tally.failures.length} failed answers as they came:`, "");
    for (const failure of tally.failures) lines.push("  ```", `  ${describeFailure(failure)}`, "  ```");
  }
  if (tally.slowAnswers.length > 0) {
    lines.push("", `The first ${tally.slowAnswers.length} answers that took ${ms(SLOW_MS)} or more:`, "");
    for (const slow of tally.slowAnswers) lines.push("  ```", `  ${describeFailure(slow)}`, "  ```");
  }
  return lines.join("\n");
}

export const runFuzzSection: ReliabilitySection = (options) => runFuzz(options);

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false }, requests: { type: "string" }, concurrency: { type: "string" }, seed: { type: "string" }, "working-tree": { type: "boolean", default: false }, url: { type: "string" }, "through-proxy": { type: "boolean", default: false }, "max-seconds": { type: "string" }, "persist-to": { type: "string" } } });
  const result = await runFuzz({
    smoke: values.smoke,
    workingTree: values["working-tree"],
    throughProxy: values["through-proxy"],
    ...(values.url === undefined ? {} : { url: values.url }),
    ...(values["max-seconds"] === undefined ? {} : { maxSeconds: Number(values["max-seconds"]) }),
    ...(values["persist-to"] === undefined ? {} : { persistTo: values["persist-to"] }),
    log: (line) => console.error(line),
    ...(values.requests === undefined ? {} : { requests: Number(values.requests) }),
    ...(values.concurrency === undefined ? {} : { concurrency: Number(values.concurrency) }),
    ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
  });
  for (const row of result.rows) console.log(`${row.pass ? "pass" : "FAIL"}  ${row.section} | ${row.measure} | ${row.value} | bar ${row.bar}`);
  console.log(`\n${result.markdown}`);
  process.exitCode = result.ok ? 0 : 1;
}
