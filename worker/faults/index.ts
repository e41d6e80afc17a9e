import { timingSafeEqual } from "hono/utils/buffer";
import { ApiError } from "../http/errors";

/**
 * Fault injection into the event path for the reliability runs (issue 17, section 3): a request may ask the Worker
 * to fail at named points, so a test can show what a client sees, and what is stored, when a Durable Object throws
 * halfway through a batch. (Section 2's hook for the feeds lives beside it, in worker/faults/inject.ts.)
 *
 * It is off unless the deployment sets the dev-only var `ALLOW_FAULT_INJECTION` to "1" (e.g. `wrangler dev --var
 * ALLOW_FAULT_INJECTION:1`), and even then only a request that also carries `X-Fault-Token: <ADMIN_TOKEN>` is
 * honoured, and only on a loopback URL (as inject.ts requires): a production Worker never sets the var, and a client
 * that knows the ingest token alone cannot break anything. Without all three, the header is ignored, so turning the
 * hook off never changes an answer.
 *
 * `X-Fault-Inject: <point>=<probability>[,<point>=<probability>…]`, e.g.
 * `user_state.ingest=0.05,trending.apply.after_commit=0.1`. The header is shared with inject.ts, whose fault kinds
 * are bare names (`trending_unavailable`): entries without `=` are its own and are skipped here, as it skips ours.
 * The spec is read from the request once and passed, as plain data, to the Durable Objects the request calls, which
 * each draw their own failures (`maybeFail`).
 */
export const FAULT_POINTS = {
  "user_state.ingest": "a user-state object throws before its ingest transaction (its users' events are not stored)",
  "user_state.ingest.after_commit": "a user-state object stores the batch, then throws: stored, but the caller sees a failure",
  "trending.apply": "the trending object throws before applying a delivery (nothing applied)",
  "trending.apply.after_commit": "the trending object applies a delivery, then throws: applied, but the caller sees a failure",
} as const;

export type FaultPoint = keyof typeof FAULT_POINTS;

/** Point → probability in [0, 1] that a call passing that point fails. Plain data: it travels to Durable Objects over RPC. */
export type FaultSpec = Readonly<Partial<Record<FaultPoint, number>>>;

/** The same headers as inject.ts's (spelled here too, so this file stands without it). */
export const FAULT_HEADER = "x-fault-inject";
export const FAULT_TOKEN_HEADER = "x-fault-token";

/** On an answer to a request that injected faults: how many fired (injected failures the Worker caught). */
export const FAULTS_FIRED_HEADER = "x-faults-fired";

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** What an injected failure throws; its message says so, so a log never mistakes it for a real fault. */
export class InjectedFault extends Error {
  constructor(readonly point: FaultPoint) {
    super(`injected fault at ${point}`);
    this.name = "InjectedFault";
  }
}

function isFaultPoint(name: string): name is FaultPoint {
  return Object.hasOwn(FAULT_POINTS, name);
}

/** Parses the `point=p` entries (bare names are inject.ts's); throws a RangeError naming a bad one. */
export function parseFaultSpec(header: string): FaultSpec {
  const spec: Partial<Record<FaultPoint, number>> = {};
  for (const part of header.split(",").map((piece) => piece.trim()).filter((piece) => piece.includes("="))) {
    const [name, value, extra] = part.split("=").map((piece) => piece.trim());
    if (name === undefined || value === undefined || extra !== undefined) throw new RangeError(`fault spec: expected <point>=<probability>, got ${JSON.stringify(part)}`);
    if (!isFaultPoint(name)) throw new RangeError(`fault spec: no fault point ${JSON.stringify(name)} (known: ${Object.keys(FAULT_POINTS).join(", ")})`);
    const probability = Number(value);
    if (!(value !== "" && Number.isFinite(probability) && probability >= 0 && probability <= 1)) throw new RangeError(`fault spec: ${name} needs a probability in [0, 1], got ${JSON.stringify(value)}`);
    spec[name] = probability;
  }
  return spec;
}

/**
 * The faults a request asks for, or undefined when it asks for none or may not: the var is unset, or the fault
 * token is missing or wrong (then the header is ignored, never an error, so the hook cannot be probed for). A
 * malformed spec from an authorised caller is a 400, so a typo does not silently run a test without faults.
 */
export async function requestFaults(request: Request, env: Env): Promise<FaultSpec | undefined> {
  if (env.ALLOW_FAULT_INJECTION !== "1") return undefined;
  const header = request.headers.get(FAULT_HEADER);
  const token = request.headers.get(FAULT_TOKEN_HEADER);
  const expected = env.ADMIN_TOKEN;
  if (header === null || token === null || typeof expected !== "string" || expected === "") return undefined;
  if (!LOOPBACK_HOSTS.has(new URL(request.url).hostname) || !(await timingSafeEqual(token, expected))) return undefined;
  try {
    return parseFaultSpec(header);
  } catch (error) {
    throw new ApiError(400, "invalid_request", (error as Error).message, `headers.${FAULT_HEADER}`);
  }
}

/** Throws an InjectedFault at `point` with the probability `spec` gives it; a no-op without a spec. */
export function maybeFail(spec: FaultSpec | undefined, point: FaultPoint): void {
  const probability = spec?.[point];
  if (probability !== undefined && probability > 0 && Math.random() < probability) throw new InjectedFault(point);
}
