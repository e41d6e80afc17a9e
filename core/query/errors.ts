import type { Span } from "./ast";

/**
 * What went wrong, by who has to act:
 * - syntax: the text does not follow the grammar;
 * - type: it parses, but operators, stream types or arguments do not fit together;
 * - limit: a valid query asks for more than the limits allow (the error names the limit);
 * - runtime: a port failed or broke its contract while the query ran (a server problem, not the author's).
 */
export type QueryErrorKind = "syntax" | "type" | "limit" | "runtime";

/** A position in the query text; `length` 0 marks a point (such as the end of input). */
export type QueryLocation = Span;

/** The JSON shape for HTTP answers (`POST /v1/query` returns it with a 400 for syntax/type/limit). */
export interface QueryErrorJson {
  readonly kind: QueryErrorKind;
  readonly code: string;
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly length: number;
  readonly limit?: string;
}

/**
 * Every problem with a query, located: `message` is `line L, column C: reason`, so it can be shown as is;
 * `reason` is the part without the location. Limit errors also carry `limit`, the name of the limit.
 */
export class QueryError extends Error {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly length: number;

  constructor(
    readonly kind: QueryErrorKind,
    readonly code: string,
    readonly reason: string,
    at: QueryLocation,
    readonly limit?: string,
    options?: { cause?: unknown },
  ) {
    super(`line ${at.line}, column ${at.column}: ${reason}`, options);
    this.name = "QueryError";
    this.line = at.line;
    this.column = at.column;
    this.offset = at.offset;
    this.length = at.length;
  }

  /** True for problems in the query itself (HTTP 400); false for runtime failures (HTTP 500). */
  get isClientError(): boolean {
    return this.kind !== "runtime";
  }

  toJSON(): QueryErrorJson {
    return {
      kind: this.kind,
      code: this.code,
      message: this.message,
      line: this.line,
      column: this.column,
      offset: this.offset,
      length: this.length,
      ...(this.limit === undefined ? {} : { limit: this.limit }),
    };
  }
}

export function isQueryError(error: unknown): error is QueryError {
  return error instanceof QueryError;
}

/** Names within two edits of `word`, closest first: the "did you mean" part of unknown-name errors. */
export function closeNames(word: string, names: Iterable<string>): string[] {
  const scored: { name: string; distance: number }[] = [];
  for (const name of names) {
    const distance = editDistance(word, name);
    // A prefix counts as close too: `seed` for `seed_id`, `mtml` for `mtml_v2`.
    const isPrefix = Math.min(word.length, name.length) >= 3 && (name.startsWith(word) || word.startsWith(name));
    if ((distance <= 2 && distance < Math.max(word.length, name.length)) || isPrefix) scored.push({ name, distance });
  }
  return scored.sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name)).map((entry) => entry.name);
}

export function didYouMean(word: string, names: Iterable<string>): string {
  const close = closeNames(word, names);
  return close.length === 0 ? "" : `; did you mean ${close.slice(0, 3).join(" or ")}?`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
