// The fault hook's names and headers (worker/faults/inject.ts), without Worker types: the reliability run reads them
// too. `x-fault-kinds` is its own header: `x-fault-inject` belongs to the event path's hook (worker/faults/index.ts).

export const FAULT_HEADER = "x-fault-kinds";
export const FAULT_TOKEN_HEADER = "x-fault-token";
export const FAULT_APPLIED_HEADER = "x-fault-injected";

/** The faults the Worker can inject itself; those of stored data (a corrupt bundle, config or feed) are written to KV instead. */
export const FAULT_KINDS = [
  /** Every read of BUNDLES and FEEDS fails. */
  "kv_read_fail",
  /** Every read of BUNDLES and FEEDS answers only after FAULT_DELAY_MS (the budgets must give up first). */
  "kv_read_timeout",
  /** Every call to a user's state object throws. */
  "user_state_throws",
  /** Every call to the trending object throws. */
  "trending_unavailable",
  /** The MTML's runs trap, as a wasm `unreachable` would, in the middle of the request. */
  "wasm_trap",
  /** The two-tower source's index answers only after FAULT_DELAY_MS (a source over its time budget). */
  "slow_source",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Long enough that only a budget ends the wait; short enough that the timers left behind go away on their own. */
export const FAULT_DELAY_MS = 30_000;

