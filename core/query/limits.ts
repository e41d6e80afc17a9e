import type { Span } from "./ast";
import { QueryError } from "./errors";

/**
 * What one query may cost. The Worker runs queries inside a request with ~10 ms of CPU and 128 MB,
 * so every dimension that can grow is capped. Checked at plan time where the query alone decides
 * (length, operators, declared fan-out, worst-case sizes), and at run time otherwise (the caller's
 * seed count, elapsed time).
 */
export interface QueryLimits {
  /** Bytes of UTF-8 query text. */
  readonly maxQueryBytes: number;
  /** Operators after the root (`.let`, `.liked`, ...). */
  readonly maxOperators: number;
  /** The most items an expansion step may produce per input item (`k` of account_nn, `max_media_per_account`, ...). */
  readonly maxFanOut: number;
  /** The most items any step may produce, in the worst case the arguments allow. */
  readonly maxStepItems: number;
  /** The most candidates a query may return, in the worst case the arguments allow (end with `limit(n)` to cap it). */
  readonly maxCandidates: number;
  /** Elapsed milliseconds on the executor's clock, checked between steps and inside loops; ports' time counts. */
  readonly cpuBudgetMs: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = Object.freeze({
  maxQueryBytes: 4096,
  maxOperators: 16,
  maxFanOut: 100,
  maxStepItems: 10_000,
  maxCandidates: 5_000,
  cpuBudgetMs: 5,
});

/** The name a limit has in error messages and `QueryError.limit` (snake case, like the query language). */
export const LIMIT_NAMES: Readonly<Record<keyof QueryLimits, string>> = Object.freeze({
  maxQueryBytes: "max_query_bytes",
  maxOperators: "max_operators",
  maxFanOut: "max_fan_out",
  maxStepItems: "max_step_items",
  maxCandidates: "max_candidates",
  cpuBudgetMs: "cpu_budget_ms",
});

/** Fills in defaults and rejects nonsense (a limit must be a positive number; counts must be integers). */
export function resolveLimits(overrides: Partial<QueryLimits> = {}): QueryLimits {
  const limits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, ...definedOnly(overrides) };
  for (const key of Object.keys(DEFAULT_QUERY_LIMITS) as (keyof QueryLimits)[]) {
    const value = limits[key];
    const isCount = key !== "cpuBudgetMs";
    if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value) || (isCount && !Number.isSafeInteger(value))) {
      throw new RangeError(`query limit ${key} must be a positive ${isCount ? "integer" : "number"}, got ${String(value)}`);
    }
  }
  for (const key of Object.keys(overrides)) {
    if (!Object.hasOwn(DEFAULT_QUERY_LIMITS, key)) throw new RangeError(`unknown query limit ${key}; known: ${Object.keys(DEFAULT_QUERY_LIMITS).join(", ")}`);
  }
  return Object.freeze(limits);
}

function definedOnly(overrides: Partial<QueryLimits>): Partial<QueryLimits> {
  return Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined)) as Partial<QueryLimits>;
}

export function limitError(limit: keyof QueryLimits, reason: string, at: Span): QueryError {
  return new QueryError("limit", LIMIT_NAMES[limit], reason, at, LIMIT_NAMES[limit]);
}

/** Milliseconds from an arbitrary origin; injectable so tests can drive time. */
export type Clock = () => number;

export const defaultClock: Clock = () => performance.now();

/**
 * The elapsed-time guard. `check` reads the clock; `tick` is for hot loops and reads it every
 * `TICKS_PER_CHECK` calls, so a loop over 10k items pays for ~80 clock reads, not 10k.
 */
export class CpuBudget {
  static readonly TICKS_PER_CHECK = 128;
  private readonly startedAt: number;
  private ticks = 0;
  private where: { operator: string; span: Span } | undefined;

  constructor(
    private readonly budgetMs: number,
    private readonly clock: Clock,
  ) {
    this.startedAt = clock();
  }

  /** Names the step that is running, for the error message. */
  enter(operator: string, span: Span): void {
    this.where = { operator, span };
    this.check();
  }

  elapsedMs(): number {
    return this.clock() - this.startedAt;
  }

  check(): void {
    const elapsed = this.elapsedMs();
    if (elapsed > this.budgetMs && this.where) {
      throw limitError(
        "cpuBudgetMs",
        `the query went over its CPU budget of ${this.budgetMs} ms (${elapsed.toFixed(2)} ms spent) during ${this.where.operator}`,
        this.where.span,
      );
    }
  }

  tick(): void {
    if (++this.ticks % CpuBudget.TICKS_PER_CHECK === 0) this.check();
  }
}

/** UTF-8 length without allocating an encoded copy. */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
