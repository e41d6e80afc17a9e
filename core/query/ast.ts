/**
 * The syntax tree of a sourcing query. Every node keeps where it came from in the text, so the
 * planner and executor can point at the exact operator or argument a problem comes from.
 * Comments and layout are not kept: `printQuery` writes the canonical text back.
 */

/** A place in the query text. `line` and `column` are 1-based; `offset` and `length` count UTF-16 code units. */
export interface Span {
  readonly offset: number;
  readonly length: number;
  readonly line: number;
  readonly column: number;
}

export interface IntegerValue {
  readonly kind: "integer";
  /** Always a safe integer. */
  readonly value: number;
  readonly span: Span;
}

export interface DecimalValue {
  readonly kind: "decimal";
  /** Written with a "." or an exponent (`0.2`, `1e-3`); always finite. */
  readonly value: number;
  readonly span: Span;
}

export interface StringValue {
  readonly kind: "string";
  readonly value: string;
  readonly span: Span;
}

export interface BooleanValue {
  readonly kind: "boolean";
  readonly value: boolean;
  readonly span: Span;
}

/** A bare word: an expression (`user_id`), an enum value (`round_robin`), a config name (`default`), an attribute. */
export interface IdentifierValue {
  readonly kind: "identifier";
  readonly name: string;
  readonly span: Span;
}

/** Lists hold scalars only, which keeps the parser free of recursion (and of stack-depth attacks). */
export type ScalarValue = IntegerValue | DecimalValue | StringValue | BooleanValue | IdentifierValue;

export interface ListValue {
  readonly kind: "list";
  readonly items: readonly ScalarValue[];
  readonly span: Span;
}

export type ValueNode = ScalarValue | ListValue;

export interface Name {
  readonly text: string;
  readonly span: Span;
}

/** `value` (positional) or `name=value` (named). The span covers both. */
export interface ArgumentNode {
  readonly name?: Name;
  readonly value: ValueNode;
  readonly span: Span;
}

/** `.name(args)`; the span runs from the "." to the ")". */
export interface CallNode {
  readonly name: Name;
  readonly args: readonly ArgumentNode[];
  readonly span: Span;
}

/**
 * The first word of the query: `user`, `seed_accounts`, `account(12)`, `media([1, 2])`.
 * `user` and `user()` parse to the same node (no arguments); the printer writes the shorter form.
 */
export interface RootNode {
  readonly name: Name;
  readonly args: readonly ArgumentNode[];
  readonly span: Span;
}

export interface QueryAst {
  readonly root: RootNode;
  readonly calls: readonly CallNode[];
  readonly span: Span;
}

/** Shapes without positions, for comparing trees (parse(print(ast)) equals ast modulo positions). */
export type Unpositioned<T> = T extends Span
  ? never
  : T extends readonly (infer E)[]
    ? readonly Unpositioned<E>[]
    : T extends object
      ? { readonly [K in keyof T as K extends "span" ? never : K]: Unpositioned<T[K]> }
      : T;

/** Drops every `span` of a tree or any node of it, recursively; what remains is the query's meaning. */
export function withoutPositions<T extends object>(node: T): Unpositioned<T> {
  return stripSpans(node) as Unpositioned<T>;
}

function stripSpans(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripSpans);
  if (node !== null && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) if (key !== "span") out[key] = stripSpans(value);
    return out;
  }
  return node;
}
