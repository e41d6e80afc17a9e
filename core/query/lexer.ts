import type { Span } from "./ast";
import { QueryError } from "./errors";

export type TokenKind =
  | "identifier"
  | "integer"
  | "decimal"
  | "string"
  | "."
  | "("
  | ")"
  | ","
  | "="
  | "["
  | "]"
  | "end";

export interface Token {
  readonly kind: TokenKind;
  /** The source text of the token ("" for the end of input). */
  readonly text: string;
  /** Numbers: their value; strings: the unescaped content; otherwise the text. */
  readonly value: number | string;
  readonly span: Span;
}

const PUNCTUATION = new Set([".", "(", ")", ",", "=", "[", "]"]);
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', "\\": "\\", n: "\n", t: "\t", r: "\r" };

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const isIdentifierStart = (c: string | undefined) => c !== undefined && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_");
const isIdentifierPart = (c: string | undefined) => isIdentifierStart(c) || isDigit(c);
const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v" || c === "\u00a0" || c === "\ufeff";

/** How a token reads in "found ..." of an error message. */
export function describeToken(token: Token): string {
  switch (token.kind) {
    case "end":
      return "end of input";
    case "identifier":
      return `"${token.text}"`;
    case "integer":
    case "decimal":
      return `number ${token.text}`;
    case "string":
      return `string ${token.text.length > 24 ? `${token.text.slice(0, 20)}..."` : token.text}`;
    default:
      return `"${token.text}"`;
  }
}

/**
 * Splits query text into tokens. Whitespace and `#` comments (to the end of the line) may appear
 * between any two tokens. Numbers may start with "-" so that a negative argument reaches the planner,
 * which then explains the allowed range instead of a confusing syntax error.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let offset = 0;
  let line = 1;
  let lineStart = 0;

  const spanFrom = (start: number, startLine: number, startColumn: number): Span => ({
    offset: start,
    length: offset - start,
    line: startLine,
    column: startColumn,
  });
  const here = (length = 0): Span => ({ offset, length, line, column: offset - lineStart + 1 });
  const syntaxError = (code: string, reason: string, at: Span) => new QueryError("syntax", code, reason, at);

  while (offset < text.length) {
    const c = text[offset] as string;
    if (c === "\n") {
      offset++;
      line++;
      lineStart = offset;
      continue;
    }
    if (isSpace(c)) {
      offset++;
      continue;
    }
    if (c === "#") {
      while (offset < text.length && text[offset] !== "\n") offset++;
      continue;
    }
    const start = offset;
    const column = offset - lineStart + 1;
    if (PUNCTUATION.has(c)) {
      offset++;
      tokens.push({ kind: c as TokenKind, text: c, value: c, span: spanFrom(start, line, column) });
      continue;
    }
    if (isIdentifierStart(c)) {
      while (isIdentifierPart(text[offset])) offset++;
      const word = text.slice(start, offset);
      tokens.push({ kind: "identifier", text: word, value: word, span: spanFrom(start, line, column) });
      continue;
    }
    if (isDigit(c) || (c === "-" && isDigit(text[offset + 1]))) {
      tokens.push(readNumber());
      continue;
    }
    if (c === '"') {
      tokens.push(readString());
      continue;
    }
    const codePoint = text.codePointAt(offset) as number;
    const shown = String.fromCodePoint(codePoint);
    const at = here(shown.length);
    if (c === "'") throw syntaxError("unexpected_character", `unexpected "'": strings are written in double quotes`, at);
    if (c === "-") throw syntaxError("unexpected_character", `unexpected "-": a minus sign must be followed by digits`, at);
    const printable = codePoint >= 0x20 && codePoint !== 0x7f;
    throw syntaxError("unexpected_character", `unexpected character ${printable ? `"${shown}"` : `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`}`, at);
  }
  tokens.push({ kind: "end", text: "", value: "", span: here() });
  return tokens;

  function readNumber(): Token {
    const start = offset;
    const column = offset - lineStart + 1;
    if (text[offset] === "-") offset++;
    while (isDigit(text[offset])) offset++;
    let isDecimal = false;
    if (text[offset] === "." && isDigit(text[offset + 1])) {
      isDecimal = true;
      offset++;
      while (isDigit(text[offset])) offset++;
    }
    if ((text[offset] === "e" || text[offset] === "E") && (isDigit(text[offset + 1]) || ((text[offset + 1] === "+" || text[offset + 1] === "-") && isDigit(text[offset + 2])))) {
      isDecimal = true;
      offset += 2;
      while (isDigit(text[offset])) offset++;
    }
    // `10abc` or `1.5.` glued together is a typo, not two tokens.
    if (isIdentifierPart(text[offset])) {
      while (isIdentifierPart(text[offset])) offset++;
      const bad = text.slice(start, offset);
      throw syntaxError("invalid_number", `invalid number "${bad}"`, spanFrom(start, line, column));
    }
    const numberText = text.slice(start, offset);
    const span = spanFrom(start, line, column);
    const value = Number(numberText);
    if (isDecimal) {
      if (!Number.isFinite(value)) throw syntaxError("invalid_number", `number ${numberText} is too large`, span);
      return { kind: "decimal", text: numberText, value, span };
    }
    if (!Number.isSafeInteger(value)) {
      throw syntaxError("integer_too_large", `integer ${numberText} is outside the safe range ±${Number.MAX_SAFE_INTEGER}`, span);
    }
    // "-0" is written by people, never meant as negative zero.
    return { kind: "integer", text: numberText, value: value === 0 ? 0 : value, span };
  }

  function readString(): Token {
    const start = offset;
    const column = offset - lineStart + 1;
    const startLine = line;
    offset++;
    let value = "";
    for (;;) {
      const c = text[offset];
      if (c === undefined || c === "\n") {
        throw syntaxError("unterminated_string", `unterminated string: expected a closing '"' before ${c === undefined ? "the end of input" : "the end of the line"}`, spanFrom(start, startLine, column));
      }
      if (c === '"') {
        offset++;
        break;
      }
      if (c === "\\") {
        const escape = text[offset + 1];
        if (escape === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(offset + 2, offset + 6))) {
          value += String.fromCharCode(parseInt(text.slice(offset + 2, offset + 6), 16));
          offset += 6;
          continue;
        }
        const replacement = escape === undefined ? undefined : ESCAPES[escape];
        if (replacement === undefined) {
          const escapeColumn = offset - lineStart + 1;
          throw syntaxError(
            "invalid_escape",
            `invalid escape "\\${escape ?? ""}" in a string; use \\", \\\\, \\n, \\t, \\r or \\uXXXX`,
            { offset, length: escape === undefined ? 1 : 2, line, column: escapeColumn },
          );
        }
        value += replacement;
        offset += 2;
        continue;
      }
      value += c;
      offset++;
    }
    return { kind: "string", text: text.slice(start, offset), value, span: spanFrom(start, startLine, column) };
  }
}
