import type { Span } from "./ast";

/**
 * What flows between operators. `user` is the requesting user (one element, only at the root);
 * `account` is a stream of account (author) ids; `media` a stream of item ids.
 */
export type StreamType = "user" | "account" | "media";

/** A value bound with `let` and carried by every candidate derived from the entry it was bound on. */
export type AttributeValue = number | string | boolean;

export type ParamType =
  | { readonly kind: "integer"; readonly min: number; readonly max: number }
  /** Accepts integer literals too (`threshold=1`). */
  | { readonly kind: "decimal"; readonly min: number; readonly max: number; readonly minExclusive?: boolean }
  | { readonly kind: "boolean" }
  /** A bare word (or string) from a fixed set. */
  | { readonly kind: "enum"; readonly values: readonly string[] }
  /** The name of a model or embedding configuration; checked against the names the caller knows, when given. */
  | { readonly kind: "config_name"; readonly family: ConfigFamily }
  /** A bare word naming an attribute bound earlier by `let`. */
  | { readonly kind: "attribute" };

export type ConfigFamily = "ranking_model" | "embedding_config";

export type ArgumentValue = number | boolean | string;

export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  /** Used when the argument is absent; a parameter with neither `default` nor `required` is simply absent. */
  readonly default?: ArgumentValue;
  readonly required?: boolean;
  readonly doc: string;
}

/** The expressions `let(name=...)` accepts besides literals, and the streams each is defined on. */
export const BINDING_EXPRESSIONS = {
  user_id: { streams: ["user", "account", "media"], doc: "the requesting user's id" },
  account_id: { streams: ["account"], doc: "the id of the account the entry is" },
  media_id: { streams: ["media"], doc: "the id of the media item the entry is" },
  author_id: { streams: ["media"], doc: "the author of the media item (asks the authorsOf port)" },
} as const satisfies Record<string, { streams: readonly StreamType[]; doc: string }>;

export type BindingExpressionName = keyof typeof BINDING_EXPRESSIONS;

export type BindingValue =
  | { readonly kind: "expression"; readonly name: BindingExpressionName }
  | { readonly kind: "literal"; readonly value: AttributeValue };

export interface Binding {
  readonly name: string;
  readonly value: BindingValue;
  readonly span: Span;
}

/** Checked argument values of one step, defaults filled in. Getters throw on a name the operator never declared. */
export class ArgumentValues {
  constructor(
    private readonly values: ReadonlyMap<string, ArgumentValue>,
    /** Where each given argument was written; absent for defaults. */
    readonly spans: ReadonlyMap<string, Span>,
  ) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  integer(name: string): number {
    const value = this.values.get(name);
    if (typeof value !== "number") throw new Error(`internal: argument ${name} is not a number (${String(value)})`);
    return value;
  }

  decimal(name: string): number {
    return this.integer(name);
  }

  optionalDecimal(name: string): number | undefined {
    return this.values.has(name) ? this.decimal(name) : undefined;
  }

  boolean(name: string): boolean {
    const value = this.values.get(name);
    if (typeof value !== "boolean") throw new Error(`internal: argument ${name} is not a boolean (${String(value)})`);
    return value;
  }

  text(name: string): string {
    const value = this.values.get(name);
    if (typeof value !== "string") throw new Error(`internal: argument ${name} is not a word (${String(value)})`);
    return value;
  }

  entries(): [string, ArgumentValue][] {
    return [...this.values.entries()];
  }
}
