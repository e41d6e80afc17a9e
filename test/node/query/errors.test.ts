import { describe, expect, it } from "vitest";
import { QueryError, planQuery, type PlanOptions, type QueryErrorKind } from "../../../core/query";

interface Case {
  readonly query: string;
  readonly line: number;
  readonly column: number;
  readonly kind: QueryErrorKind;
  readonly code: string;
  /** The message after "line L, column C: "; a RegExp where only part of it matters. */
  readonly reason: string | RegExp;
  readonly options?: PlanOptions;
}

const FOUND_END = "found end of input";

/** Malformed queries, each with where the error must point and what it must say was expected. */
const CASES: readonly Case[] = [
  // ---- syntax: roots, dots, operator names, parentheses ----
  { query: "", line: 1, column: 1, kind: "syntax", code: "unexpected_token", reason: `expected a root such as "user" at the start of the query, ${FOUND_END}` },
  { query: "   # only a comment\n", line: 2, column: 1, kind: "syntax", code: "unexpected_token", reason: `expected a root such as "user" at the start of the query, ${FOUND_END}` },
  { query: ".liked()", line: 1, column: 1, kind: "syntax", code: "unexpected_token", reason: `expected a root such as "user" at the start of the query, found "."` },
  { query: "42", line: 1, column: 1, kind: "syntax", code: "unexpected_token", reason: `expected a root such as "user" at the start of the query, found number 42` },
  { query: "user liked()", line: 1, column: 6, kind: "syntax", code: "unexpected_token", reason: `expected "." and an operator (or the end of the query) after user, found "liked"` },
  { query: "user.()", line: 1, column: 6, kind: "syntax", code: "unexpected_token", reason: `expected an operator name after ".", found "("` },
  { query: "user.", line: 1, column: 6, kind: "syntax", code: "unexpected_token", reason: `expected an operator name after ".", ${FOUND_END}` },
  { query: "user.liked", line: 1, column: 11, kind: "syntax", code: "unexpected_token", reason: `expected "(" after liked, ${FOUND_END}` },
  { query: "user.liked.account_nn()", line: 1, column: 11, kind: "syntax", code: "unexpected_token", reason: `expected "(" after liked, found "."` },
  { query: "user\n.liked(max_num_to_retrieve=30", line: 2, column: 30, kind: "syntax", code: "unexpected_token", reason: `expected "," or ")" after the arguments of liked, ${FOUND_END}` },
  { query: "user\n.let(seed_id=user_id)\n.liked(30", line: 3, column: 10, kind: "syntax", code: "unexpected_token", reason: `expected "," or ")" after the arguments of liked, ${FOUND_END}` },
  { query: "user.liked(30 20)", line: 1, column: 15, kind: "syntax", code: "unexpected_token", reason: `expected "," or ")" after the arguments of liked, found number 20` },
  { query: "user.liked()\n  .posted_media(max_media_per_account=10))", line: 2, column: 42, kind: "syntax", code: "unexpected_token", reason: `expected "." and an operator (or the end of the query) after posted_media(...), found ")"` },
  { query: "user(", line: 1, column: 6, kind: "syntax", code: "unexpected_token", reason: `expected an argument in the arguments of user, ${FOUND_END}` },
  // ---- syntax: arguments and values ----
  { query: "user.liked(max_num_to_retrieve=)", line: 1, column: 32, kind: "syntax", code: "unexpected_token", reason: `expected a value after "max_num_to_retrieve=" in the arguments of liked, found ")"` },
  { query: "user.liked(30,)", line: 1, column: 15, kind: "syntax", code: "unexpected_token", reason: `expected an argument after "," in the arguments of liked, found ")"` },
  { query: "user.liked(,30)", line: 1, column: 12, kind: "syntax", code: "unexpected_token", reason: `expected an argument in the arguments of liked, found ","` },
  { query: "user.liked(=30)", line: 1, column: 12, kind: "syntax", code: "unexpected_token", reason: `expected an argument in the arguments of liked, found "="` },
  { query: "user.liked(30)\n# more to come\n.account_nn(k=1,\n", line: 4, column: 1, kind: "syntax", code: "unexpected_token", reason: `expected an argument after "," in the arguments of account_nn, ${FOUND_END}` },
  { query: "user.filter(non_recommendable_model_threshold=0.2, 3)", line: 1, column: 52, kind: "syntax", code: "positional_after_named", reason: "positional argument after named arguments of filter: write it as name=value or put it first" },
  { query: "account([1, 2)", line: 1, column: 14, kind: "syntax", code: "unexpected_token", reason: `expected "," or "]" in a list, found ")"` },
  { query: "media([[1]])", line: 1, column: 8, kind: "syntax", code: "unexpected_token", reason: `expected a number, string, boolean or word in a list, found "["` },
  // ---- syntax: characters, strings, numbers ----
  { query: "user.liked(max='30')", line: 1, column: 16, kind: "syntax", code: "unexpected_character", reason: `unexpected "'": strings are written in double quotes` },
  { query: 'user.let(tag="abc)', line: 1, column: 14, kind: "syntax", code: "unterminated_string", reason: `unterminated string: expected a closing '"' before the end of input` },
  { query: 'user.let(tag="abc\n).popular()', line: 1, column: 14, kind: "syntax", code: "unterminated_string", reason: `unterminated string: expected a closing '"' before the end of the line` },
  { query: 'user.let(tag="a\\qb")', line: 1, column: 16, kind: "syntax", code: "invalid_escape", reason: `invalid escape "\\q" in a string; use \\", \\\\, \\n, \\t, \\r or \\uXXXX` },
  { query: "user.liked(10abc)", line: 1, column: 12, kind: "syntax", code: "invalid_number", reason: `invalid number "10abc"` },
  { query: "user.liked(99999999999999999999)", line: 1, column: 12, kind: "syntax", code: "integer_too_large", reason: /^integer 99999999999999999999 is outside the safe range/ },
  { query: "user.liked(- 5)", line: 1, column: 12, kind: "syntax", code: "unexpected_character", reason: `unexpected "-": a minus sign must be followed by digits` },
  { query: "user.liked(30) @", line: 1, column: 16, kind: "syntax", code: "unexpected_character", reason: `unexpected character "@"` },
  { query: "user.liked(30)\u0007", line: 1, column: 15, kind: "syntax", code: "unexpected_character", reason: `unexpected character U+0007` },
  // ---- type: names ----
  { query: "usr.liked_media()", line: 1, column: 1, kind: "type", code: "unknown_root", reason: "unknown root usr: a query starts with user, seed_accounts, seed_media, account(<ids>) or media(<ids>); did you mean user?" },
  { query: "user.likd().posted_media()", line: 1, column: 6, kind: "type", code: "unknown_operator", reason: "unknown operator likd; did you mean liked?" },
  // ---- type: streams ----
  { query: "user\n.let(seed_id=user_id)\n.liked_media()\n.posted_media()", line: 4, column: 2, kind: "type", code: "stream_mismatch", reason: "posted_media expects an account stream but liked_media produces media" },
  { query: "user.posted_media()", line: 1, column: 6, kind: "type", code: "stream_mismatch", reason: "posted_media expects an account stream but the root user produces user" },
  { query: "user.liked().let(seed_id=account_id).media_nn()", line: 1, column: 38, kind: "type", code: "stream_mismatch", reason: "media_nn expects a media stream but liked produces account" },
  { query: "user.limit(3).popular()", line: 1, column: 6, kind: "type", code: "stream_mismatch", reason: "limit expects an account or media stream but the root user produces user" },
  { query: "user.liked()", line: 1, column: 6, kind: "type", code: "query_output", reason: "a query must end in a media stream, but it ends with liked, and liked produces account; continue with posted_media" },
  { query: "user", line: 1, column: 1, kind: "type", code: "query_output", reason: "a query must end in a media stream, but it ends with the root user, a user stream; continue with liked_media, engaged_media, popular or trending" },
  // ---- type: arguments ----
  { query: "user.liked(max=3).posted_media()", line: 1, column: 12, kind: "type", code: "unknown_argument", reason: "liked has no argument max; its arguments are max_num_to_retrieve; did you mean max_num_to_retrieve?" },
  { query: "user.liked().posted_media(max_media_per_acount=3)", line: 1, column: 27, kind: "type", code: "unknown_argument", reason: "posted_media has no argument max_media_per_acount; its arguments are max_media_per_account, max_age_hours, score, combine, share; did you mean max_media_per_account?" },
  { query: "user.liked(2.5).posted_media()", line: 1, column: 12, kind: "type", code: "argument_type", reason: "max_num_to_retrieve of liked expects an integer, found decimal 2.5" },
  { query: "user.liked(0).posted_media()", line: 1, column: 12, kind: "type", code: "argument_range", reason: "max_num_to_retrieve of liked must be between 1 and 1000, found 0" },
  { query: "user.liked(30, max_num_to_retrieve=20).posted_media()", line: 1, column: 16, kind: "type", code: "duplicate_argument", reason: "max_num_to_retrieve is given twice in liked" },
  { query: "user.liked(1, 2).posted_media()", line: 1, column: 15, kind: "type", code: "too_many_arguments", reason: "liked takes at most 1 (max_num_to_retrieve), found integer 2" },
  { query: "user.popular().limit()", line: 1, column: 16, kind: "type", code: "missing_argument", reason: "limit is missing its required argument n (how many entries to keep)" },
  { query: "user.popular().filter(exclude_seen=yes)", line: 1, column: 36, kind: "type", code: "argument_type", reason: "exclude_seen of filter expects true or false, found word yes" },
  { query: "user.popular().filter(non_recommendable_model_threshold=1.5)", line: 1, column: 57, kind: "type", code: "argument_range", reason: "non_recommendable_model_threshold of filter must be between 0 and 1, found 1.5" },
  { query: "account(10).posted_media(max_age_hours=0)", line: 1, column: 40, kind: "type", code: "argument_range", reason: "max_age_hours of posted_media must be greater than 0 and at most 87600, found 0" },
  { query: "user.let(s=user_id).popular().diversify_by(s, method=round_robn)", line: 1, column: 54, kind: "type", code: "argument_value", reason: "method of diversify_by must be one of round_robin, found round_robn; did you mean round_robin?" },
  { query: 'user.engaged(surface="explore").posted_media()', line: 1, column: 22, kind: "type", code: "argument_value", reason: "surface of engaged must be one of any, home, other, found explore" },
  { query: "user.popular().rank(ranking_model=mtml)", line: 1, column: 35, kind: "type", code: "unknown_name", reason: "ranking_model of rank names an unknown ranking model mtml; known: default, mtml_v2; did you mean mtml_v2?", options: { rankingModels: ["default", "mtml_v2"] } },
  { query: "user.liked().account_nn(embedding_config=defualt).posted_media()", line: 1, column: 42, kind: "type", code: "unknown_name", reason: "embedding_config of account_nn names an unknown embedding configuration defualt; known: default; did you mean default?", options: { embeddingConfigs: ["default"] } },
  // ---- type: let and attributes ----
  { query: "user.popular().diversify_by(seed_id)", line: 1, column: 29, kind: "type", code: "unbound_attribute", reason: "diversify_by refers to seed_id, which no earlier let binds; bind it first, e.g. .let(seed_id=account_id)" },
  { query: "user.let(seed=user_id).popular().diversify_by(seed_id)", line: 1, column: 47, kind: "type", code: "unbound_attribute", reason: "diversify_by refers to seed_id, which no earlier let binds; did you mean seed?" },
  { query: "user.let(seed_id=account_id).liked().posted_media()", line: 1, column: 18, kind: "type", code: "invalid_binding", reason: "account_id is defined on account streams, but here the stream is user" },
  { query: "user.let(user_id=user_id).popular()", line: 1, column: 10, kind: "type", code: "invalid_binding", reason: "user_id is an expression and cannot be rebound; pick another name such as seed_id" },
  { query: "user.let(source=liked_nn).popular()", line: 1, column: 17, kind: "type", code: "invalid_binding", reason: `unknown expression liked_nn in let; use user_id, account_id, media_id, author_id or a quoted string` },
  { query: "user.let().popular()", line: 1, column: 5, kind: "type", code: "invalid_binding", reason: "let needs at least one binding such as seed_id=user_id" },
  { query: "user.let(user_id).popular()", line: 1, column: 10, kind: "type", code: "invalid_binding", reason: "let takes name=expression bindings such as seed_id=user_id, found word user_id" },
  { query: "user.let(a=1, a=2).popular()", line: 1, column: 15, kind: "type", code: "duplicate_argument", reason: "a is bound twice in the same let" },
  // ---- type: roots ----
  { query: 'account("x").posted_media()', line: 1, column: 9, kind: "type", code: "argument_type", reason: `ids of account must be integers, found string "x"` },
  { query: "seed_accounts(3).posted_media()", line: 1, column: 15, kind: "type", code: "root_arguments", reason: "seed_accounts takes no arguments" },
  { query: "media.cooccurred()", line: 1, column: 1, kind: "type", code: "root_arguments", reason: "media needs ids: media(12) or media([12, 40])" },
  // ---- limits ----
  { query: `user.popular()${" ".repeat(5000)}`, line: 1, column: 4097, kind: "limit", code: "max_query_bytes", reason: "the query is 5014 bytes long, over the limit max_query_bytes = 4096" },
  { query: `user.popular()${".limit(1)".repeat(17)}`, line: 1, column: 150, kind: "limit", code: "max_operators", reason: "the query has 18 operators, over the limit max_operators = 16" },
  { query: "user.liked().account_nn(k=500).posted_media()", line: 1, column: 25, kind: "limit", code: "max_fan_out", reason: "account_nn may produce up to 500 items per input (k=500), over the limit max_fan_out = 100" },
];

describe("error messages name the line, the column and what was expected", () => {
  it("covers at least 30 malformed queries", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES.map((c) => [JSON.stringify(c.query.length > 60 ? `${c.query.slice(0, 57)}...` : c.query), c] as const))("%s", (_label, c) => {
    let thrown: unknown;
    try {
      planQuery(c.query, c.options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(QueryError);
    const error = thrown as QueryError;
    expect({ line: error.line, column: error.column, kind: error.kind, code: error.code }).toEqual({ line: c.line, column: c.column, kind: c.kind, code: c.code });
    if (typeof c.reason === "string") expect(error.reason).toBe(c.reason);
    else expect(error.reason).toMatch(c.reason);
    expect(error.message).toBe(`line ${c.line}, column ${c.column}: ${error.reason}`);
    // The offset agrees with line and column.
    const before = c.query.slice(0, error.offset);
    expect(before.split("\n").length).toBe(c.line);
    expect(error.offset - before.lastIndexOf("\n")).toBe(c.column);
  });

  it("serializes for HTTP answers and tells client errors from server errors", () => {
    try {
      planQuery("user.liked(0).posted_media()");
      expect.unreachable();
    } catch (error) {
      const e = error as QueryError;
      expect(e.isClientError).toBe(true);
      expect(JSON.parse(JSON.stringify(e))).toEqual({
        kind: "type",
        code: "argument_range",
        message: "line 1, column 12: max_num_to_retrieve of liked must be between 1 and 1000, found 0",
        line: 1,
        column: 12,
        offset: 11,
        length: 1,
      });
    }
  });
});
