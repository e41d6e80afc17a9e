// Fault injection for the reliability run (issue 17, scripts/reliability/faults.ts): a request can ask the Worker to
// behave as if a store or a model were failing, so the run can watch the real Worker in `wrangler dev` degrade.
//
// It is OFF unless three things hold at once, so a normal deployment can never be made to fail on purpose:
//   1. the variable ALLOW_FAULT_INJECTION is "1" (set nowhere in wrangler.toml or .dev.vars.example; the reliability
//      run passes it to its own `wrangler dev` with --var);
//   2. the request carries `x-fault-token` equal to ADMIN_TOKEN (compared in constant time);
//   3. the request's URL is on loopback (127.0.0.1, localhost, [::1]): `wrangler dev` only.
// Without the variable the hook reads one property and returns the environment untouched. The faults are read once per
// request, from `x-fault-kinds` (a comma-separated list of FAULT_KINDS; unknown names are ignored), and applied by
// wrapping that request's bindings, so nothing outside the request changes; answers say what was applied in
// `x-fault-injected`.
import { timingSafeEqual } from "hono/utils/buffer";
import type { ModelSession } from "../../core/inference/types";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import type { RemoteItemIndex } from "../../core/shards/fan-out";
import { FAULT_DELAY_MS, FAULT_HEADER, FAULT_KINDS, FAULT_TOKEN_HEADER, type FaultKind } from "./kinds";

export { FAULT_APPLIED_HEADER, FAULT_HEADER, FAULT_KINDS, FAULT_TOKEN_HEADER, type FaultKind } from "./kinds";

/** Its own header: `x-fault-inject` is the event path's (worker/faults/index.ts), with another syntax. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["127.0.0.1", "localhost", "[::1]"]);
const faultsByEnv = new WeakMap<Env, ReadonlySet<FaultKind>>();

/** The request's environment with its faults applied, and which they are (none: the environment itself). */
export async function injectFaults(request: Request, env: Env): Promise<{ env: Env; faults: readonly FaultKind[] }> {
  if (env.ALLOW_FAULT_INJECTION !== "1") return { env, faults: [] };
  const asked = request.headers.get(FAULT_HEADER);
  const token = request.headers.get(FAULT_TOKEN_HEADER);
  const admin = env.ADMIN_TOKEN;
  if (asked === null || token === null || admin === undefined || admin === "") return { env, faults: [] };
  if (!LOOPBACK_HOSTS.has(new URL(request.url).hostname) || !(await timingSafeEqual(token, admin))) return { env, faults: [] };
  const faults = [...new Set(asked.split(",").map((name) => name.trim()))].filter((name): name is FaultKind => (FAULT_KINDS as readonly string[]).includes(name));
  if (faults.length === 0) return { env, faults: [] };
  const has = new Set(faults);
  const kvMode = has.has("kv_read_fail") ? "fail" : has.has("kv_read_timeout") ? "slow" : undefined;
  const faulty: Env = {
    ...env,
    ...(kvMode ? { BUNDLES: faultyKv(env.BUNDLES, kvMode), FEEDS: faultyKv(env.FEEDS, kvMode) } : {}),
    ...(has.has("user_state_throws") ? { USER_STATE: throwingNamespace(env.USER_STATE, "the user's state object") } : {}),
    ...(has.has("trending_unavailable") ? { TRENDING: throwingNamespace(env.TRENDING, "the trending object") } : {}),
  };
  faultsByEnv.set(faulty, has);
  return { env: faulty, faults };
}

/** The faults applied to this request's environment (always none in a deployment: see the top of the file). */
export function faultsOf(env: Env): ReadonlySet<FaultKind> {
  return faultsByEnv.get(env) ?? NO_FAULTS;
}
const NO_FAULTS: ReadonlySet<FaultKind> = new Set();

/** The bundle a request runs on, with its model faults: under `wasm_trap` the MTML's runs throw a RuntimeError. */
export function withModelFaults(env: Env, bundle: ServingBundle): ServingBundle {
  if (!faultsOf(env).has("wasm_trap")) return bundle;
  const { mtml, mtmlOneUser } = bundle.models;
  return { ...bundle, models: { ...bundle.models, ...(mtml ? { mtml: trapping(mtml) } : {}), ...(mtmlOneUser ? { mtmlOneUser: trapping(mtmlOneUser) } : {}) } };
}

/** Under `slow_source`, the two-tower source's index: it answers after FAULT_DELAY_MS, with nothing. */
export function slowItemIndex(env: Env): RemoteItemIndex | undefined {
  if (!faultsOf(env).has("slow_source")) return undefined;
  return { search: async () => (await delay(FAULT_DELAY_MS), { hits: [], problems: [], shardMs: [] }) };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A session whose runs trap; everything else (its specs, its release) is the real session's. */
function trapping(session: ModelSession): ModelSession {
  const trap = async (): Promise<never> => {
    throw new WebAssembly.RuntimeError("unreachable (injected fault: wasm_trap)");
  };
  return new Proxy(session, {
    get(target, property, receiver) {
      if (property === "run" || property === "runWithShapes") return trap;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A KV namespace whose reads fail, or answer late; writes and lists are the real ones'. */
function faultyKv(namespace: KVNamespace, mode: "fail" | "slow"): KVNamespace {
  const read = async (...args: unknown[]): Promise<unknown> => {
    if (mode === "fail") throw new Error("KV read failed (injected fault: kv_read_fail)");
    await delay(FAULT_DELAY_MS);
    return (namespace.get as (...forwarded: unknown[]) => Promise<unknown>).apply(namespace, args);
  };
  return new Proxy(namespace, {
    get(target, property) {
      if (property === "get" || property === "getWithMetadata") return read;
      const value: unknown = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * A Durable Object namespace whose objects throw on every call, as an object that is overloaded, resetting or
 * unreachable does: ids are the real namespace's, every stub method rejects.
 */
function throwingNamespace<T extends Rpc.DurableObjectBranded | undefined>(namespace: DurableObjectNamespace<T>, what: string): DurableObjectNamespace<T> {
  const stub = new Proxy(
    {},
    {
      get(_, property) {
        // not a thenable: `await stub` must not call this
        if (property === "then") return undefined;
        return async () => {
          throw new Error(`${what} threw (injected fault)`);
        };
      },
    },
  );
  return new Proxy(namespace, {
    get(target, property) {
      if (property === "get" || property === "getByName") return () => stub;
      const value: unknown = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
