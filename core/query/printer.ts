import type { ArgumentNode, CallNode, QueryAst, RootNode, ScalarValue, ValueNode } from "./ast";

export interface PrintOptions {
  /** "lines" (default): the root, then one `.call(...)` per line, as in the seed query. "inline": one line. */
  readonly layout?: "lines" | "inline";
}

/**
 * The canonical text of a query: comments dropped, `name=value` without spaces, ", " between
 * arguments, decimals always with a "." or an exponent (so they parse back as decimals), strings
 * escaped. parse(print(ast)) equals ast modulo positions.
 */
export function printQuery(ast: QueryAst, options: PrintOptions = {}): string {
  const separator = options.layout === "inline" ? "" : "\n";
  return [printRoot(ast.root), ...ast.calls.map(printCall)].join(separator);
}

export function printRoot(root: RootNode): string {
  return root.args.length === 0 ? root.name.text : `${root.name.text}(${root.args.map(printArgument).join(", ")})`;
}

export function printCall(call: CallNode): string {
  return `.${call.name.text}(${call.args.map(printArgument).join(", ")})`;
}

export function printArgument(argument: ArgumentNode): string {
  const value = printValue(argument.value);
  return argument.name ? `${argument.name.text}=${value}` : value;
}

export function printValue(value: ValueNode): string {
  if (value.kind === "list") return `[${value.items.map(printScalar).join(", ")}]`;
  return printScalar(value);
}

function printScalar(value: ScalarValue): string {
  switch (value.kind) {
    case "integer":
      return String(value.value);
    case "decimal":
      return printDecimal(value.value);
    case "string":
      return printString(value.value);
    case "boolean":
      return value.value ? "true" : "false";
    case "identifier":
      return value.name;
  }
}

/** Shortest round-tripping form, plus ".0" when it would otherwise read as an integer. */
export function printDecimal(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`a decimal in a query must be finite, got ${value}`);
  if (Object.is(value, -0)) return "-0.0";
  const text = String(value);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

export function printString(value: string): string {
  let out = '"';
  for (const c of value) {
    if (c === '"') out += '\\"';
    else if (c === "\\") out += "\\\\";
    else if (c === "\n") out += "\\n";
    else if (c === "\t") out += "\\t";
    else if (c === "\r") out += "\\r";
    else if (c < " " || c === "\u007f") out += `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
    else out += c;
  }
  return `${out}"`;
}
