import type { Span } from "./ast";
import { QueryError } from "./errors";
import type { CpuBudget } from "./limits";
import type { Awaitable, QueryStores, ScoredId } from "./stores";
import { deriveEntry, withScore, type StreamEntry } from "./stream";
import type { ArgumentValues, Binding, ParamSpec, StreamType } from "./types";

/**
 * How big an operator's output can get, declared so the planner can bound every step before anything runs:
 * - source:  at most `param` items (operators on the one-element user stream);
 * - expand:  at most `param` items per input item (`param` is the step's fan-out);
 * - same:    at most as many items as its input;
 * - at_most: at most min(input, `param`).
 */
export type SizeRule =
  | { readonly kind: "source"; readonly param: string }
  | { readonly kind: "expand"; readonly param: string }
  | { readonly kind: "same" }
  | { readonly kind: "at_most"; readonly param: string };

/** Everything one step needs while it runs. */
export interface StepRun {
  readonly operator: string;
  readonly span: Span;
  readonly args: ArgumentValues;
  /** `let` only: the checked bindings. */
  readonly bindings: readonly Binding[];
  readonly stores: QueryStores;
  readonly userId: number;
  readonly budget: CpuBudget;
  /** Whether candidates will carry their paths: without, a derived entry keeps its parent's hop (no new one per item). */
  readonly trackPaths: boolean;
  /**
   * Calls a port; a thrown error becomes a `runtime` QueryError (code `port_failed`) naming the port and step. A port
   * that answers at once is answered at once (no promise): a request runs ~20 steps, most over in-memory ports.
   */
  call<T>(port: string, invoke: () => Awaitable<T>): Awaitable<T>;
  /** A `runtime` QueryError (code `port_contract`) for an answer that breaks the port's contract. */
  contractError(port: string, reason: string): QueryError;
}

/** One operator of the language: its signature (checked by the planner) and its behaviour. */
export interface OperatorDefinition {
  readonly name: string;
  /** One line for the operator table and error hints. */
  readonly summary: string;
  readonly inputs: readonly StreamType[];
  /** "same": the output stream has the input's type. */
  readonly output: StreamType | "same";
  /** In positional order: `liked(30)` binds 30 to the first parameter. */
  readonly params: readonly ParamSpec[];
  /** `let` takes free-form `name=expression` bindings instead of parameters. */
  readonly takesBindings?: boolean;
  readonly size: SizeRule;
  /** The ports it may call (none for steps that only rescore or reorder): what a caller may share across users depends on them. */
  readonly ports: readonly string[];
  run(input: readonly StreamEntry[], step: StepRun): Awaitable<StreamEntry[]>;
}

export function isPromiseLike<T>(value: Awaitable<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** `next(value)` now when the value is there, else when it arrives. */
export function whenReady<T, R>(value: Awaitable<T>, next: (value: T) => R): Awaitable<R> {
  return isPromiseLike(value) ? value.then(next) : next(value);
}

export function checkScoredList(step: StepRun, port: string, list: unknown, max: number, what: string): readonly ScoredId[] {
  if (!Array.isArray(list)) throw step.contractError(port, `returned ${typeof list} instead of a list${what}`);
  if (list.length > max) throw step.contractError(port, `returned ${list.length} entries${what}, more than the ${max} asked for`);
  for (const entry of list as unknown[]) {
    const scored = entry as Partial<ScoredId> | null;
    if (scored === null || typeof scored !== "object" || !Number.isSafeInteger(scored.id) || typeof scored.score !== "number" || !Number.isFinite(scored.score)) {
      throw step.contractError(port, `returned ${JSON.stringify(entry)}${what}; expected {id: safe integer, score: finite number}`);
    }
  }
  return list as readonly ScoredId[];
}

export function checkScoredLists(step: StepRun, port: string, lists: unknown, inputs: readonly number[], maxEach: number): readonly (readonly ScoredId[])[] {
  if (!Array.isArray(lists) || lists.length !== inputs.length) {
    const got = Array.isArray(lists) ? `${lists.length} lists` : typeof lists;
    throw step.contractError(port, `returned ${got} for ${inputs.length} inputs; expected one list per input`);
  }
  return lists.map((list, i) => checkScoredList(step, port, list, maxEach, ` for input ${inputs[i]}`));
}

/** One number per input; `valid` says what a number must be (e.g. an id, a score in [0, 1]). */
export function checkAligned(
  step: StepRun,
  port: string,
  values: unknown,
  inputs: readonly number[],
  valid: (value: number) => boolean,
  expected: string,
): ArrayLike<number> {
  const isArrayLike = Array.isArray(values) || ArrayBuffer.isView(values);
  const length = isArrayLike ? (values as ArrayLike<unknown>).length : undefined;
  if (length !== inputs.length) {
    throw step.contractError(port, `returned ${length === undefined ? typeof values : `${length} values`} for ${inputs.length} items; expected one per item`);
  }
  const array = values as ArrayLike<unknown>;
  for (let i = 0; i < inputs.length; i++) {
    const value = array[i];
    if (typeof value !== "number" || !valid(value)) {
      throw step.contractError(port, `returned ${String(value)} for item ${inputs[i]}; expected ${expected}`);
    }
  }
  return array as ArrayLike<number>;
}

/** How an expansion scores a child: the port's score, the parent's score times it, or the parent's score decayed by the child's place in its list. */
export const CHILD_SCORES = ["port", "product", "rank"] as const;
export type ChildScore = (typeof CHILD_SCORES)[number];
/** What an id reached from several inputs keeps: the first path's score, the largest, or the sum. */
export const COMBINES = ["first", "max", "sum"] as const;
export type Combine = (typeof COMBINES)[number];

export interface ExpandOptions {
  /** At most this many children per input. */
  readonly perInput: number;
  /** Neighbour lists usually start with the query: an input never yields itself. */
  readonly dropSelf: boolean;
  readonly score?: ChildScore;
  readonly combine?: Combine;
  /** Drop children that are inputs of this step (the seeds of a walk never come back as its candidates). */
  readonly excludeInputs?: boolean;
}

/**
 * The children of each input entry, in input order and each list's order, each id once: it keeps the position and
 * the path of the first input that reached it (so earlier seeds keep priority and their provenance), and its score
 * per `combine`. Every input yields at most `perInput` children.
 */
export function expandEntries(input: readonly StreamEntry[], lists: readonly (readonly ScoredId[])[], step: StepRun, kind: StreamType, options: ExpandOptions): StreamEntry[] {
  const { perInput, dropSelf, score: scoring = "port", combine = "first" } = options;
  const output: StreamEntry[] = [];
  // where each id sits in the output (-1: not yet): a scratch table over small ids, a Map over any others
  const slots = SlotTable.over(lists);
  const inputs = options.excludeInputs ? new Set(input.map((entry) => entry.id)) : undefined;
  try {
    input.forEach((parent, i) => {
      let taken = 0;
      for (const { id, score: portScore } of lists[i] ?? []) {
        step.budget.tick();
        if (taken === perInput) break;
        if (dropSelf && id === parent.id) continue;
        const position = taken++;
        if (inputs?.has(id)) continue;
        const score = scoring === "port" ? portScore : scoring === "product" ? parent.score * portScore : parent.score / (1 + position);
        const at = slots.get(id);
        if (at < 0) {
          slots.set(id, output.length);
          output.push(deriveEntry(parent, step.operator, kind, id, score, step.trackPaths));
        } else if (combine !== "first") {
          const existing = output[at] as StreamEntry;
          const combined = combine === "max" ? Math.max(existing.score, score) : existing.score + score;
          if (combined !== existing.score) output[at] = withScore(existing, combined);
        }
      }
    });
  } finally {
    slots.release(output);
  }
  return output;
}

/**
 * id → output position for one expansion. Ids are usually rows of a table of a few thousand: then a typed array the
 * isolate keeps (reset to -1 after each use) answers without hashing; larger or negative ids use a Map.
 */
class SlotTable {
  private static scratch = new Int32Array(0);
  private static inUse = false;
  /** Ids below this use the scratch table. */
  private static readonly MAX_DENSE_ID = 1 << 20;

  private constructor(private readonly dense: Int32Array | undefined, private readonly sparse: Map<number, number> | undefined) {}

  static over(lists: readonly (readonly ScoredId[])[]): SlotTable {
    let maxId = -1;
    let dense = !SlotTable.inUse;
    for (const list of lists) {
      for (const { id } of list) {
        if (id < 0 || id >= SlotTable.MAX_DENSE_ID) dense = false;
        else if (id > maxId) maxId = id;
      }
    }
    if (!dense) return new SlotTable(undefined, new Map());
    if (SlotTable.scratch.length <= maxId) SlotTable.scratch = new Int32Array(Math.max(maxId + 1, 2 * SlotTable.scratch.length)).fill(-1);
    SlotTable.inUse = true;
    return new SlotTable(SlotTable.scratch, undefined);
  }

  get(id: number): number {
    return this.dense ? (this.dense[id] as number) : (this.sparse?.get(id) ?? -1);
  }

  set(id: number, at: number): void {
    if (this.dense) this.dense[id] = at;
    else this.sparse?.set(id, at);
  }

  /** Leaves the scratch table all -1 again (only the output's ids were set). */
  release(output: readonly StreamEntry[]): void {
    if (!this.dense) return;
    for (const entry of output) this.dense[entry.id] = -1;
    SlotTable.inUse = false;
  }
}
