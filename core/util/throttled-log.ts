/**
 * Logs recurring failures at most once per interval per kind, with the count of those left out. A degraded part of
 * the system (a state object down, trending unavailable) fails on every request; logging each one with its error
 * floods the log pipeline: under `wrangler dev` the Worker's console goes through the inspector to wrangler's own
 * process, which fell behind, lost its connection and answered requests with 503s (the fault section's trending run);
 * deployed, it multiplies the log volume of an outage. One line per kind per interval says the same. Errors are logged
 * by message, not as objects, so no stack trace is mapped per request.
 */
export const THROTTLED_LOG_INTERVAL_MS = 10_000;
/** Kinds are fixed strings at the call sites; this bounds the table should a caller ever build them from input. */
const MAX_KINDS = 256;

interface KindState {
  lastMs: number;
  leftOut: number;
}

export interface ThrottledLog {
  /** Logs `message` (and the error's message) unless this kind was logged within the interval; returns whether it was. */
  (kind: string, message: string, error?: unknown): boolean;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === "string" ? error : JSON.stringify(error) ?? String(error);
}

export function createThrottledLog(write: (line: string) => void, now: () => number = Date.now, intervalMs = THROTTLED_LOG_INTERVAL_MS): ThrottledLog {
  const kinds = new Map<string, KindState>();
  return (kind, message, error) => {
    const nowMs = now();
    let state = kinds.get(kind);
    if (state !== undefined && nowMs - state.lastMs < intervalMs) {
      state.leftOut++;
      return false;
    }
    if (state === undefined) {
      if (kinds.size >= MAX_KINDS) kinds.delete(kinds.keys().next().value as string);
      state = { lastMs: nowMs, leftOut: 0 };
      kinds.set(kind, state);
    }
    const leftOut = state.leftOut;
    state.lastMs = nowMs;
    state.leftOut = 0;
    write(`${message}${error === undefined ? "" : `: ${errorText(error)}`}${leftOut > 0 ? ` (and ${leftOut} more like it in the last ${Math.round(intervalMs / 1000)} s)` : ""}`);
    return true;
  };
}

/** This isolate's log of recurring failures (console.error). */
export const logRecurringFailure: ThrottledLog = createThrottledLog((line) => console.error(line));
