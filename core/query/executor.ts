import type { Span } from "./ast";
import { QueryError } from "./errors";
import { CpuBudget, defaultClock, type Clock } from "./limits";
import { isPromiseLike, type StepRun } from "./operator";
import { worstCaseSizes, type PlannedStep, type QueryPlan } from "./planner";
import type { Awaitable, QueryStores } from "./stores";
import { rootEntry, toCandidate, type Candidate, type StreamEntry } from "./stream";

export interface SeedInput {
  readonly id: number;
  /** H, R, F, ...: copied to every candidate derived from this seed. */
  readonly type?: string;
}

export interface QueryContext {
  readonly userId: number;
  /** Stamped on every candidate (unless a seed carries its own type). */
  readonly seedType?: string;
  /** The stream of the `seed_accounts` root. */
  readonly seedAccounts?: readonly SeedInput[];
  /** The stream of the `seed_media` root. */
  readonly seedMedia?: readonly SeedInput[];
}

export interface ExecuteOptions {
  /** Milliseconds; defaults to `performance.now`. Inject a fake one to test the CPU budget deterministically. */
  readonly clock?: Clock;
  /**
   * "scores": the result's `ids` and `scores` only (`candidates` is empty, and no step keeps the paths), for callers
   * that read nothing else — Explore's retrieval runs ~2,500 items per request through its sources. Default
   * "candidates".
   */
  readonly output?: "candidates" | "scores";
}

export interface StepTrace {
  /** The root's name for the first entry, then each operator. */
  readonly operator: string;
  readonly line: number;
  readonly column: number;
  readonly countIn: number;
  readonly countOut: number;
  readonly elapsedMs: number;
}

export interface ExecutionTrace {
  readonly steps: readonly StepTrace[];
  readonly totalMs: number;
}

export interface QueryResult {
  readonly candidates: readonly Candidate[];
  /** The output's ids and scores, in output order. */
  readonly ids: Int32Array;
  readonly scores: Float64Array;
  readonly trace: ExecutionTrace;
}

/**
 * Runs a plan against the ports. Steps run one after the other; each reads its input stream and
 * returns the next. The CPU budget is checked between steps and inside loops; a port failure or a
 * broken port contract becomes a `runtime` QueryError at the step that called it.
 */
export async function executeQuery(plan: QueryPlan, stores: QueryStores, context: QueryContext, options: ExecuteOptions = {}): Promise<QueryResult> {
  if (!Number.isSafeInteger(context.userId)) throw new TypeError(`QueryContext.userId must be a safe integer, got ${String(context.userId)}`);
  const clock = options.clock ?? defaultClock;
  const withCandidates = (options.output ?? "candidates") === "candidates";
  const budget = new CpuBudget(plan.limits.cpuBudgetMs, clock);
  const startedAt = clock();
  const trace: StepTrace[] = [];

  budget.enter(plan.root.name, plan.root.span);
  let stream = rootStream(plan, context);
  if (plan.worstCase === undefined) worstCaseSizes(plan, stream.length);
  trace.push({ operator: plan.root.name, line: plan.root.span.line, column: plan.root.span.column, countIn: 0, countOut: stream.length, elapsedMs: clock() - startedAt });

  for (const step of plan.steps) {
    const stepStartedAt = clock();
    budget.enter(step.operator.name, step.nameSpan);
    const running = step.operator.run(stream, stepRun(step, stores, context.userId, budget, withCandidates));
    const output = isPromiseLike(running) ? await running : running;
    trace.push({
      operator: step.operator.name,
      line: step.nameSpan.line,
      column: step.nameSpan.column,
      countIn: stream.length,
      countOut: output.length,
      elapsedMs: clock() - stepStartedAt,
    });
    stream = output;
    budget.check();
  }
  const ids = new Int32Array(stream.length);
  const scores = new Float64Array(stream.length);
  stream.forEach((entry, i) => {
    ids[i] = entry.id;
    scores[i] = entry.score;
  });
  return { candidates: withCandidates ? stream.map(toCandidate) : [], ids, scores, trace: { steps: trace, totalMs: clock() - startedAt } };
}

function rootStream(plan: QueryPlan, context: QueryContext): StreamEntry[] {
  const { root } = plan;
  const seedType = context.seedType;
  switch (root.name) {
    case "user":
      return [rootEntry("user", "user", context.userId, seedType)];
    case "account":
    case "media":
      return uniqueIds(root.ids ?? []).map((id) => rootEntry(root.name, root.output, id, seedType));
    case "seed_accounts":
    case "seed_media": {
      const seeds = root.name === "seed_accounts" ? context.seedAccounts : context.seedMedia;
      const field = root.name === "seed_accounts" ? "seedAccounts" : "seedMedia";
      if (seeds === undefined) {
        throw new QueryError("runtime", "missing_seeds", `the query starts from ${root.name} but the caller passed no ${field}`, root.span);
      }
      const seen = new Set<number>();
      const entries: StreamEntry[] = [];
      for (const seed of seeds) {
        if (!Number.isSafeInteger(seed.id)) throw new QueryError("runtime", "invalid_seed", `${field} holds ${String(seed.id)}, which is not a safe integer id`, root.span);
        if (seen.has(seed.id)) continue;
        seen.add(seed.id);
        entries.push(rootEntry(root.name, root.output, seed.id, seed.type ?? seedType));
      }
      return entries;
    }
  }
}

function uniqueIds(ids: readonly number[]): number[] {
  return [...new Set(ids)];
}

function stepRun(step: PlannedStep, stores: QueryStores, userId: number, budget: CpuBudget, trackPaths: boolean): StepRun {
  const where: Span = step.nameSpan;
  const contractError = (port: string, reason: string) =>
    new QueryError("runtime", "port_contract", `port ${port} broke its contract during ${step.operator.name}: it ${reason}`, where);
  return {
    operator: step.operator.name,
    span: where,
    args: step.args,
    bindings: step.bindings,
    stores,
    userId,
    budget,
    trackPaths,
    contractError,
    call<T>(port: string, invoke: () => Awaitable<T>): Awaitable<T> {
      const failed = (error: unknown): never => {
        if (error instanceof QueryError) throw error;
        const message = error instanceof Error ? error.message : String(error);
        throw new QueryError("runtime", "port_failed", `port ${port} failed during ${step.operator.name}: ${message}`, where, undefined, { cause: error });
      };
      const answered = (answer: T): T => {
        budget.check();
        return answer;
      };
      try {
        const answer = invoke();
        return isPromiseLike(answer) ? answer.then(answered, failed) : answered(answer);
      } catch (error) {
        return failed(error);
      }
    },
  };
}
