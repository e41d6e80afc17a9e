import type { ArgumentNode, CallNode, ListValue, Name, QueryAst, RootNode, ScalarValue, Span, ValueNode } from "./ast";
import { QueryError } from "./errors";
import { describeToken, tokenize, type Token } from "./lexer";
import { DEFAULT_QUERY_LIMITS, limitError, utf8ByteLength, type QueryLimits } from "./limits";

/**
 * Grammar (whitespace, newlines and `#` comments may appear between any two tokens):
 *
 *   query    = root { "." call }
 *   root     = identifier [ "(" [ args ] ")" ]
 *   call     = identifier "(" [ args ] ")"
 *   args     = argument { "," argument }           positional arguments come before named ones
 *   argument = identifier "=" value | value
 *   value    = scalar | "[" [ scalar { "," scalar } ] "]"
 *   scalar   = integer | decimal | string | "true" | "false" | identifier
 *
 *   identifier = [A-Za-z_][A-Za-z0-9_]*
 *   integer    = ["-"] digits                                  (a safe integer)
 *   decimal    = ["-"] digits ( "." digits [exponent] | exponent ), exponent = ("e"|"E") ["+"|"-"] digits
 *   string     = '"' { character | "\" ( '"' | "\" | "n" | "t" | "r" | "u" hex hex hex hex ) } '"'   (one line)
 */
export function parseQuery(text: string, limits: Pick<QueryLimits, "maxQueryBytes"> = DEFAULT_QUERY_LIMITS): QueryAst {
  checkQueryBytes(text, limits.maxQueryBytes);
  return new Parser(tokenize(text)).query();
}

function checkQueryBytes(text: string, maxBytes: number): void {
  // Quick accept: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (text.length * 3 <= maxBytes) return;
  const bytes = utf8ByteLength(text);
  if (bytes <= maxBytes) return;
  // Point at the first character that does not fit, so the error shows where to cut.
  let offset = 0;
  let used = 0;
  while (offset < text.length) {
    const code = text.charCodeAt(offset);
    const isPair = code >= 0xd800 && code <= 0xdbff && (text.charCodeAt(offset + 1) & 0xfc00) === 0xdc00;
    const width = code < 0x80 ? 1 : code < 0x800 ? 2 : isPair ? 4 : 3;
    if (used + width > maxBytes) break;
    used += width;
    offset += isPair ? 2 : 1;
  }
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  throw limitError("maxQueryBytes", `the query is ${bytes} bytes long, over the limit max_query_bytes = ${maxBytes}`, { offset, length: text.length - offset, line, column });
}

const cover = (from: Span, to: Span): Span => ({
  offset: from.offset,
  length: to.offset + to.length - from.offset,
  line: from.line,
  column: from.column,
});

class Parser {
  private position = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  query(): QueryAst {
    const root = this.root();
    const calls: CallNode[] = [];
    for (;;) {
      const token = this.peek();
      if (token.kind === "end") break;
      if (token.kind !== ".") {
        const after = calls.length === 0 ? root.name.text : `${(calls[calls.length - 1] as CallNode).name.text}(...)`;
        throw this.unexpected(`"." and an operator (or the end of the query) after ${after}`, token);
      }
      calls.push(this.call());
    }
    const last = calls.length === 0 ? root.span : (calls[calls.length - 1] as CallNode).span;
    return { root, calls, span: cover(root.span, last) };
  }

  private root(): RootNode {
    const token = this.peek();
    if (token.kind !== "identifier") {
      throw this.unexpected(`a root such as "user" at the start of the query`, token);
    }
    this.position++;
    const name: Name = { text: token.text, span: token.span };
    if (this.peek().kind !== "(") return { name, args: [], span: token.span };
    const { args, close } = this.argumentList(name.text);
    return { name, args, span: cover(token.span, close.span) };
  }

  private call(): CallNode {
    const dot = this.next();
    const token = this.peek();
    if (token.kind !== "identifier") throw this.unexpected(`an operator name after "."`, token);
    this.position++;
    const name: Name = { text: token.text, span: token.span };
    if (this.peek().kind !== "(") throw this.unexpected(`"(" after ${name.text}`, this.peek());
    const { args, close } = this.argumentList(name.text);
    return { name, args, span: cover(dot.span, close.span) };
  }

  /** From "(" to ")" inclusive. */
  private argumentList(owner: string): { args: ArgumentNode[]; close: Token } {
    this.next(); // "("
    const args: ArgumentNode[] = [];
    if (this.peek().kind === ")") return { args, close: this.next() };
    let seenNamed = false;
    for (let first = true; ; first = false) {
      const argument = this.argument(owner, first ? "an argument" : `an argument after ","`);
      if (argument.name) seenNamed = true;
      else if (seenNamed) {
        throw new QueryError(
          "syntax",
          "positional_after_named",
          `positional argument after named arguments of ${owner}: write it as name=value or put it first`,
          argument.span,
        );
      }
      args.push(argument);
      const token = this.peek();
      if (token.kind === ")") return { args, close: this.next() };
      if (token.kind !== ",") throw this.unexpected(`"," or ")" after the arguments of ${owner}`, token);
      this.position++;
    }
  }

  private argument(owner: string, what: string): ArgumentNode {
    const token = this.peek();
    if (token.kind === "identifier" && this.peek(1).kind === "=") {
      this.position += 2;
      const value = this.value(`after "${token.text}=" in the arguments of ${owner}`);
      return { name: { text: token.text, span: token.span }, value, span: cover(token.span, value.span) };
    }
    const value = this.value(`in the arguments of ${owner}`, what);
    return { value, span: value.span };
  }

  private value(context: string, what = "a value"): ValueNode {
    const token = this.peek();
    if (token.kind !== "[") return this.scalar(context, what);
    this.position++;
    const items: ScalarValue[] = [];
    if (this.peek().kind === "]") return this.finishList(token, items);
    for (;;) {
      items.push(this.scalar("in a list", "a number, string, boolean or word"));
      const separator = this.peek();
      if (separator.kind === "]") return this.finishList(token, items);
      if (separator.kind !== ",") throw this.unexpected(`"," or "]" in a list`, separator);
      this.position++;
    }
  }

  private finishList(open: Token, items: ScalarValue[]): ListValue {
    const close = this.next();
    return { kind: "list", items, span: cover(open.span, close.span) };
  }

  private scalar(context: string, what: string): ScalarValue {
    const token = this.peek();
    const span = token.span;
    switch (token.kind) {
      case "integer":
        this.position++;
        return { kind: "integer", value: token.value as number, span };
      case "decimal":
        this.position++;
        return { kind: "decimal", value: token.value as number, span };
      case "string":
        this.position++;
        return { kind: "string", value: token.value as string, span };
      case "identifier":
        this.position++;
        if (token.text === "true" || token.text === "false") return { kind: "boolean", value: token.text === "true", span };
        return { kind: "identifier", name: token.text, span };
      default:
        throw this.unexpected(`${what} ${context}`, token);
    }
  }

  private peek(ahead = 0): Token {
    return (this.tokens[this.position + ahead] ?? this.tokens[this.tokens.length - 1]) as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== "end") this.position++;
    return token;
  }

  private unexpected(expected: string, found: Token): QueryError {
    return new QueryError("syntax", "unexpected_token", `expected ${expected}, found ${describeToken(found)}`, found.span);
  }
}
