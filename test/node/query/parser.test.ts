import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  QueryError,
  parseQuery,
  printQuery,
  tokenize,
  withoutPositions,
  type ArgumentNode,
  type CallNode,
  type Name,
  type QueryAst,
  type ScalarValue,
  type Span,
  type ValueNode,
} from "../../../core/query";
import { SEED_QUERY } from "./fixture-graph";

const NO_SPAN: Span = { offset: 0, length: 0, line: 0, column: 0 };

// ---- generators of valid trees (positions are filled with a placeholder and ignored) ----
const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/).filter((word) => word !== "true" && word !== "false");
const name = identifier.map((text): Name => ({ text, span: NO_SPAN }));
const scalar: fc.Arbitrary<ScalarValue> = fc.oneof(
  fc.maxSafeInteger().map((value): ScalarValue => ({ kind: "integer", value: value === 0 ? 0 : value, span: NO_SPAN })),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value): ScalarValue => ({ kind: "decimal", value, span: NO_SPAN })),
  fc.string({ unit: "binary", maxLength: 12 }).map((value): ScalarValue => ({ kind: "string", value, span: NO_SPAN })),
  fc.boolean().map((value): ScalarValue => ({ kind: "boolean", value, span: NO_SPAN })),
  identifier.map((word): ScalarValue => ({ kind: "identifier", name: word, span: NO_SPAN })),
);
const value: fc.Arbitrary<ValueNode> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 4 }).map((items): ValueNode => ({ kind: "list", items, span: NO_SPAN })) },
);
const positional = value.map((v): ArgumentNode => ({ value: v, span: NO_SPAN }));
const named = fc.tuple(name, value).map(([n, v]): ArgumentNode => ({ name: n, value: v, span: NO_SPAN }));
// Positional arguments come first: the grammar rejects a positional one after a named one.
const args = fc.tuple(fc.array(positional, { maxLength: 3 }), fc.array(named, { maxLength: 3 })).map(([p, n]) => [...p, ...n]);
const call = fc.tuple(name, args).map(([n, a]): CallNode => ({ name: n, args: a, span: NO_SPAN }));
const ast: fc.Arbitrary<QueryAst> = fc
  .record({ rootName: name, rootArgs: args, calls: fc.array(call, { maxLength: 8 }) })
  .map(({ rootName, rootArgs, calls }) => ({ root: { name: rootName, args: rootArgs, span: NO_SPAN }, calls, span: NO_SPAN }));

/** Anything a person may put between two tokens. */
const separator = fc.constantFrom("", " ", "\n", "\t\t", "\r\n", "  # a comment with (parens), \"quotes\" and . dots\n", "\n\n   ");

/** Re-spaces a valid text: the tokens' own text, joined by random whitespace and comments. */
function respace(text: string, separators: readonly string[]): string {
  const tokens = tokenize(text).filter((token) => token.kind !== "end");
  return tokens.map((token, i) => (separators[i % separators.length] ?? "") + token.text).join("");
}

/** Line and column of an offset, computed independently of the lexer. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split("\n").length, column: offset - before.lastIndexOf("\n") };
}

function allSpans(tree: QueryAst): { span: Span; text?: string }[] {
  const spans: { span: Span; text?: string }[] = [{ span: tree.span }];
  const addValue = (v: ValueNode) => {
    spans.push({ span: v.span, ...(v.kind === "identifier" ? { text: v.name } : {}) });
    if (v.kind === "list") v.items.forEach(addValue);
  };
  const addArgs = (list: readonly ArgumentNode[]) =>
    list.forEach((a) => {
      spans.push({ span: a.span });
      if (a.name) spans.push({ span: a.name.span, text: a.name.text });
      addValue(a.value);
    });
  spans.push({ span: tree.root.span }, { span: tree.root.name.span, text: tree.root.name.text });
  addArgs(tree.root.args);
  for (const c of tree.calls) {
    spans.push({ span: c.span }, { span: c.name.span, text: c.name.text });
    addArgs(c.args);
  }
  return spans;
}

describe("parser: the seed query", () => {
  const tree = parseQuery(SEED_QUERY);

  it("reads the root, eight lines of calls and every argument", () => {
    expect(tree.root.name.text).toBe("user");
    expect(tree.calls.map((c) => c.name.text)).toEqual(["let", "liked", "account_nn", "posted_media", "filter", "rank", "diversify_by"]);
    const diversify = tree.calls[6] as CallNode;
    expect(withoutPositions(diversify)).toEqual({
      name: { text: "diversify_by" },
      args: [{ value: { kind: "identifier", name: "seed_id" } }, { name: { text: "method" }, value: { kind: "identifier", name: "round_robin" } }],
    });
    const threshold = (tree.calls[4] as CallNode).args[0] as ArgumentNode;
    expect(threshold.value).toMatchObject({ kind: "decimal", value: 0.2 });
    expect((tree.calls[1] as CallNode).args[0]?.value).toMatchObject({ kind: "integer", value: 30 });
  });

  it("keeps line, column, offset and length of calls, names and arguments", () => {
    const liked = tree.calls[1] as CallNode;
    expect(liked.span).toEqual({ line: 3, column: 1, offset: SEED_QUERY.indexOf(".liked"), length: ".liked(max_num_to_retrieve=30)".length });
    expect(liked.name.span).toMatchObject({ line: 3, column: 2, length: 5 });
    const arg = liked.args[0] as ArgumentNode;
    expect(arg.span).toMatchObject({ line: 3, column: 8, length: "max_num_to_retrieve=30".length });
    expect(arg.value.span).toMatchObject({ line: 3, column: 28, length: 2 });
    const method = (tree.calls[6] as CallNode).args[1] as ArgumentNode;
    expect(method.name?.span).toMatchObject({ line: 8, column: 24, length: 6 });
    expect(tree.span).toEqual({ offset: 0, length: SEED_QUERY.length, line: 1, column: 1 });
  });

  it("prints back to the same text (the seed's layout is the canonical one)", () => {
    expect(printQuery(tree)).toBe(SEED_QUERY);
    expect(printQuery(tree, { layout: "inline" })).toBe(SEED_QUERY.replaceAll("\n", ""));
  });

  it("ignores comments, blank lines and spacing", () => {
    const noisy = `# suggested posts, liked-account seeds
user   # the viewer
  . let ( seed_id = user_id )

  .liked(max_num_to_retrieve = 30)   # most recent first
  .account_nn(embedding_config=default).posted_media(max_media_per_account=10)
  .filter(non_recommendable_model_threshold=0.2)  .rank(ranking_model=default)
  .diversify_by(seed_id,method=round_robin)  # one per seed, in turn`;
    expect(withoutPositions(parseQuery(noisy))).toEqual(withoutPositions(tree));
    expect(printQuery(parseQuery(noisy))).toBe(SEED_QUERY);
  });
});

describe("parser: values", () => {
  const firstValue = (text: string) => ((parseQuery(`user.op(${text})`).calls[0] as CallNode).args[0] as ArgumentNode).value;

  it.each([
    ["42", { kind: "integer", value: 42 }],
    ["-7", { kind: "integer", value: -7 }],
    ["-0", { kind: "integer", value: 0 }],
    ["0.25", { kind: "decimal", value: 0.25 }],
    ["2.0", { kind: "decimal", value: 2 }],
    ["1e-3", { kind: "decimal", value: 0.001 }],
    ["-2.5E+2", { kind: "decimal", value: -250 }],
    ['"a \\"b\\" \\\\ \\n \\u00e9"', { kind: "string", value: 'a "b" \\ \n é' }],
    ['"#not a comment"', { kind: "string", value: "#not a comment" }],
    ["true", { kind: "boolean", value: true }],
    ["false", { kind: "boolean", value: false }],
    ["round_robin", { kind: "identifier", name: "round_robin" }],
    ["[]", { kind: "list", items: [] }],
    ['[1, 2.5, "x", y, true]', { kind: "list", items: [{ kind: "integer", value: 1 }, { kind: "decimal", value: 2.5 }, { kind: "string", value: "x" }, { kind: "identifier", name: "y" }, { kind: "boolean", value: true }] }],
  ])("%s", (text, expected) => {
    expect(withoutPositions(firstValue(text))).toEqual(expected);
  });

  it("prints decimals so that they parse back as decimals", () => {
    for (const v of [2, -0, 0.1, 1e21, 5e-324, -1.5e-7, 123456789.125]) {
      const printed = printQuery({ root: { name: { text: "user", span: NO_SPAN }, args: [], span: NO_SPAN }, calls: [{ name: { text: "op", span: NO_SPAN }, args: [{ value: { kind: "decimal", value: v, span: NO_SPAN }, span: NO_SPAN }], span: NO_SPAN }], span: NO_SPAN }, { layout: "inline" });
      const parsed = firstValue(printed.slice("user.op(".length, -1));
      expect(parsed.kind).toBe("decimal");
      expect(Object.is((parsed as { value: number }).value, v)).toBe(true);
    }
  });

  it("treats user and user() alike, and prints the shorter form", () => {
    expect(withoutPositions(parseQuery("user().popular()"))).toEqual(withoutPositions(parseQuery("user.popular()")));
    expect(printQuery(parseQuery("user ( ) . popular ( )"))).toBe("user\n.popular()");
  });
});

describe("parser: round trips (property-based)", () => {
  it("parse(print(ast)) equals ast, modulo positions", () => {
    fc.assert(
      fc.property(ast, (tree) => {
        expect(withoutPositions(parseQuery(printQuery(tree), { maxQueryBytes: 1 << 20 }))).toEqual(withoutPositions(tree));
        expect(withoutPositions(parseQuery(printQuery(tree, { layout: "inline" }), { maxQueryBytes: 1 << 20 }))).toEqual(withoutPositions(tree));
      }),
      { numRuns: 400 },
    );
  });

  it("print∘parse is idempotent, whatever the spacing and comments", () => {
    fc.assert(
      fc.property(ast, fc.array(separator, { minLength: 1, maxLength: 7 }), (tree, separators) => {
        const canonical = printQuery(tree);
        const noisy = respace(canonical, separators);
        const once = printQuery(parseQuery(noisy, { maxQueryBytes: 1 << 20 }));
        expect(once).toBe(canonical);
        expect(printQuery(parseQuery(once, { maxQueryBytes: 1 << 20 }))).toBe(once);
      }),
      { numRuns: 300 },
    );
  });

  it("every span points at its text, with line and column matching its offset", () => {
    fc.assert(
      fc.property(ast, fc.array(separator, { minLength: 1, maxLength: 7 }), (tree, separators) => {
        const text = respace(printQuery(tree), separators);
        for (const { span, text: expected } of allSpans(parseQuery(text, { maxQueryBytes: 1 << 20 }))) {
          expect(lineColumn(text, span.offset)).toEqual({ line: span.line, column: span.column });
          expect(span.offset + span.length).toBeLessThanOrEqual(text.length);
          if (expected !== undefined) expect(text.slice(span.offset, span.offset + span.length)).toBe(expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("arbitrary text either parses or fails with a located syntax QueryError (never anything else)", () => {
    const alphabet = fc.constantFrom(..."user.liked(x=1, [2]) \"a\\\n#-.5e9'@é_".split(""));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }).map((chars) => chars.join("")), (text) => {
        try {
          parseQuery(text);
        } catch (error) {
          expect(error).toBeInstanceOf(QueryError);
          const e = error as QueryError;
          expect(e.kind).toBe("syntax");
          expect(e.offset).toBeLessThanOrEqual(text.length);
          expect(lineColumn(text, e.offset)).toEqual({ line: e.line, column: e.column });
          expect(e.message).toMatch(/^line \d+, column \d+: /);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
