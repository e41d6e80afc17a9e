// The fuzzer's inputs (issue 17, section 1): fast-check arbitraries built from the Worker's own OpenAPI document — a
// valid-ish body per route from its JSON Schema — and the mutations applied to it. A case is a small description
// (which route, which token, which mutation and its parameters); the bytes sent are materialised from it, so a
// counterexample shrinks to a short, printable recipe even when the body it stands for is megabytes long.
import fc from "fast-check";
import { z } from "zod";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The parts of a JSON Schema the document uses for requests (zod's draft-2020-12 output). */
export interface JsonSchema {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly const?: Json;
  readonly enum?: readonly Json[];
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly propertyNames?: JsonSchema;
  /** `false` after prefixItems: a tuple. */
  readonly items?: JsonSchema | boolean;
  readonly prefixItems?: readonly JsonSchema[];
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
}

const jsonSchema: z.ZodType<JsonSchema> = z.lazy(() =>
  z.looseObject({
    $ref: z.string().optional(),
    type: z.union([z.string(), z.array(z.string())]).optional(),
    const: z.json().optional(),
    enum: z.array(z.json()).optional(),
    anyOf: z.array(jsonSchema).optional(),
    oneOf: z.array(jsonSchema).optional(),
    allOf: z.array(jsonSchema).optional(),
    properties: z.record(z.string(), jsonSchema).optional(),
    required: z.array(z.string()).optional(),
    additionalProperties: z.union([z.boolean(), jsonSchema]).optional(),
    propertyNames: jsonSchema.optional(),
    items: z.union([z.boolean(), jsonSchema]).optional(),
    prefixItems: z.array(jsonSchema).optional(),
    minItems: z.number().optional(),
    maxItems: z.number().optional(),
    minLength: z.number().optional(),
    maxLength: z.number().optional(),
    pattern: z.string().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    exclusiveMinimum: z.number().optional(),
    exclusiveMaximum: z.number().optional(),
  }),
);

const METHODS = ["get", "post", "put", "delete"] as const;
export type Method = (typeof METHODS)[number];

/** What the fuzzer reads of `GET /openapi.json`: the operations, their security, path parameters and request bodies. */
const openApiDocument = z.object({
  paths: z.record(
    z.string(),
    z.partialRecord(
      z.enum(METHODS),
      z.object({
        operationId: z.string(),
        security: z.array(z.record(z.string(), z.array(z.string()))).optional(),
        parameters: z.array(z.object({ name: z.string(), in: z.string(), schema: jsonSchema })).optional(),
        requestBody: z.object({ description: z.string(), content: z.object({ "application/json": z.object({ schema: jsonSchema }) }) }).optional(),
        responses: z.record(z.string(), z.unknown()),
      }),
    ),
  ),
  components: z.object({ schemas: z.record(z.string(), jsonSchema), securitySchemes: z.record(z.string(), z.unknown()) }),
});

export interface Operation {
  readonly operationId: string;
  readonly method: Method;
  /** The OpenAPI path, `{name}` placeholders included. */
  readonly path: string;
  /** The bearer token's secret, and whether the route is open without it (an optional requirement). */
  readonly token: string | undefined;
  readonly tokenOptional: boolean;
  readonly params: readonly { readonly name: string; readonly schema: JsonSchema }[];
  readonly body: { readonly schema: JsonSchema; readonly maxBytes: number } | undefined;
  readonly statuses: readonly number[];
}

export interface Contract {
  readonly operations: readonly Operation[];
  readonly components: Readonly<Record<string, JsonSchema>>;
  readonly tokens: readonly string[];
}

/** The operations of the served document. The body limit is read from the request body's description, where the document states it. */
export function readContract(document: unknown): Contract {
  const parsed = openApiDocument.parse(document);
  const operations: Operation[] = [];
  for (const [path, byMethod] of Object.entries(parsed.paths)) {
    for (const method of METHODS) {
      const operation = byMethod[method];
      if (!operation) continue;
      const requirements = operation.security ?? [];
      const token = requirements.flatMap((requirement) => Object.keys(requirement))[0];
      let body: Operation["body"];
      if (operation.requestBody) {
        const limit = /at most (\d+) bytes/.exec(operation.requestBody.description);
        if (!limit) throw new Error(`${operation.operationId}: the request body's description states no byte limit`);
        body = { schema: operation.requestBody.content["application/json"].schema, maxBytes: Number(limit[1]) };
      }
      operations.push({
        operationId: operation.operationId,
        method,
        path,
        token,
        tokenOptional: requirements.some((requirement) => Object.keys(requirement).length === 0),
        params: (operation.parameters ?? []).filter((parameter) => parameter.in === "path").map(({ name, schema }) => ({ name, schema })),
        body,
        statuses: Object.keys(operation.responses).map(Number),
      });
    }
  }
  return { operations, components: parsed.components.schemas, tokens: Object.keys(parsed.components.securitySchemes) };
}

/** Ids the bundle knows, so valid-ish requests reach past validation into the funnel. */
export interface Vocabulary {
  readonly users: readonly string[];
  readonly items: readonly string[];
  readonly authors: readonly string[];
  /** The fixture's days, as epoch ms: timestamps near them read real counters. */
  readonly dayMs: readonly number[];
}

const NUMERIC_EDGES: readonly Json[] = [0, -0, -1, 1, 0.5, -0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 1e21, 1e308, -1e308, 5e-324, Number.MIN_VALUE, -(2 ** 53)];
/** Numbers JSON can spell but JavaScript cannot hold exactly (or at all): written as raw text into the body. */
const RAW_NUMBERS = ["1e400", "-1e400", "1E+999", "0.0000000000000000000000000000000000000000000000001e-400", "123456789012345678901234567890", "-0.0", "1.0", "1e2", "00", "01", "-", "1.", ".5", "+1", "0x10", "NaN", "Infinity"] as const;
const TIME_EDGES: readonly number[] = [0, -1, 1, Date.UTC(1970, 0, 1), Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2000, 0, 1) - 1, Date.UTC(2000, 0, 1), 8.64e15, 8.64e15 + 1, -8.64e15, 2 ** 53 - 1, 253402300799999, 1e13];
const DAY_MS = 86_400_000;
/** The most a huge_array mutation makes of its array's text: 8 times the largest route's body limit. */
const MAX_HUGE_ARRAY_BYTES = 8 * 1024 * 1024;

/** A marker a mutation leaves in the JSON value for text JSON cannot carry (raw numbers); replaced after stringifying. */
const RAW_MARK = "\u0000raw:";
const NEST_MARK = "\u0000nest:";
export const rawNumber = (text: string): string => `${RAW_MARK}${text}\u0000`;

/** A timestamp: around now, on the fixture's days, or at the edges (far past, far future, the Date range). */
function timestamp(vocabulary: Vocabulary): fc.Arbitrary<number> {
  const now = Date.now();
  return fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: now - 30 * DAY_MS, max: now + DAY_MS }) },
    { weight: 3, arbitrary: fc.constantFrom(...vocabulary.dayMs).chain((day) => fc.integer({ min: day - DAY_MS, max: day + 2 * DAY_MS })) },
    { weight: 2, arbitrary: fc.constantFrom(...TIME_EDGES, now + DAY_MS, now + DAY_MS + 1000, now + 100 * 365 * DAY_MS) },
  );
}

/** An id: one the bundle knows, a small integer, an edge, or a string (printable or not). */
function entityId(known: readonly string[]): fc.Arbitrary<Json> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.constantFrom(...known).map(Number).filter(Number.isSafeInteger) },
    { weight: 1, arbitrary: fc.nat({ max: 100_000 }) },
    { weight: 1, arbitrary: fc.constantFrom<Json>(0, 2 ** 53 - 1, 2 ** 53, -1, 1.5, "0", "00", "-1", " 1", "1 ", "9007199254740993", "x".repeat(64), "x".repeat(65), "\u200b", "é", "🙂", "\ud800") },
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 70 }) },
  );
}

/** A sourcing query: a valid one from the shipped shapes, a random token stream, deep nesting, or huge limits. */
export function queryText(operators: readonly string[], argumentNames: readonly string[]): fc.Arbitrary<string> {
  const identifier = fc.oneof(fc.constantFrom(...operators, ...argumentNames, "user", "seed_accounts", "seed_media", "account", "media", "true", "false", "quota", "seed_id", "user_id", "author_id"), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/));
  const number = fc.oneof(fc.integer({ min: -5, max: 2_000_000 }), fc.constantFrom(0, 1, 1000, 1001, 100_000, 100_001, 2 ** 53, 2 ** 53 + 1, 1e308)).map(String);
  const rawNumberText = fc.constantFrom("1e400", "9999999999999999999999", "-0", "1.5e-400", "0.1", "1e", "1.", "-", "01");
  const stringLiteral = fc.oneof(fc.string({ maxLength: 12 }).map((text) => JSON.stringify(text)), fc.constantFrom('"unterminated', '"\\q"', '"\\u12"', '"a\nb"', '"\\ud800"'));
  const token = fc.oneof(
    { weight: 6, arbitrary: identifier },
    { weight: 6, arbitrary: fc.constantFrom(".", "(", ")", ",", "=", "[", "]", "\n", " ", "#c\n") },
    { weight: 2, arbitrary: number },
    { weight: 1, arbitrary: rawNumberText },
    { weight: 1, arbitrary: stringLiteral },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 3 }) },
  );
  const tokenStream = fc.array(token, { maxLength: 60 }).map((tokens) => tokens.join(""));
  const limit = fc.oneof(number, rawNumberText);
  const call = fc.tuple(fc.constantFrom(...operators), fc.array(fc.tuple(fc.constantFrom(...argumentNames), limit), { maxLength: 3 })).map(([name, args]) => `.${name}(${args.map(([key, value]) => `${key}=${value}`).join(", ")})`);
  const wellFormed = fc.tuple(fc.constantFrom("user", "seed_accounts", "seed_media", "account(1)", "media([1, 2])", "account([])"), fc.array(call, { maxLength: 20 })).map(([root, calls]) => root + calls.join(""));
  const shipped = fc.constantFrom(
    "user.user_nn(n=100)",
    "user.liked(max_num_to_retrieve=30).account_nn(embedding_config=default).posted_media(max_media_per_account=10).filter(non_recommendable_model_threshold=0.2).rank(ranking_model=default)",
    "user.engaged_media(surface=any, max=20).cooccurred(k=1000, combine=sum).top(n=100)",
    "user.author_affinity(max=1000, follow_weight=10).posted_media(max_media_per_account=5, score=rank, combine=max).top(n=100)",
    "seed_accounts.two_hop(max=1000).posted_media(max_media_per_account=1000)",
    "user.popular(n=100000).media_nn(k=1000).cooccurred(k=1000).top(n=100000)",
    "user.trending(n=100000).let(seed_id=author_id).diversify_by(seed_id, method=round_robin, max_per_value=1)",
    "seed_media.media_nn(k=1000, share=100000, score=product, combine=max, exclude_inputs=true)",
  );
  const nested = fc.tuple(fc.integer({ min: 10, max: 20_000 }), fc.constantFrom("(", "[", "user(", ".limit(", "[[")).map(([depth, open]) => `user.limit(n=${open.repeat(depth)}1${")".repeat(depth)})`);
  const longChain = fc.tuple(fc.integer({ min: 16, max: 2000 }), fc.constantFrom(".limit(n=1)", ".normalize()", ".scale(by=2)", ".media_nn(k=1000)")).map(([count, call]) => `user.popular(n=100)${call.repeat(count)}`);
  return fc.oneof({ weight: 3, arbitrary: wellFormed }, { weight: 2, arbitrary: shipped }, { weight: 3, arbitrary: tokenStream }, { weight: 1, arbitrary: nested }, { weight: 1, arbitrary: longChain });
}

export interface GeneratorContext {
  readonly components: Readonly<Record<string, JsonSchema>>;
  readonly vocabulary: Vocabulary;
  readonly query: fc.Arbitrary<string>;
}

const ID_FIELD = /(^|_)(id|ids)$|^exclude$|^seed_(accounts|media)$/;
const TIME_FIELD = /(^|_)(ts|at_ms|created_at|startMs|start_ms)$/;

/** A valid-ish value of `schema`: usually valid, always small (mutations make it big). `name` is the property it fills. */
export function valueOf(schema: JsonSchema, context: GeneratorContext, name = "", depth = 0): fc.Arbitrary<Json> {
  if (schema.$ref !== undefined) {
    const target = context.components[schema.$ref.replace("#/components/schemas/", "")];
    if (!target) throw new Error(`unresolved ${schema.$ref}`);
    return valueOf(target, context, name, depth);
  }
  if (depth > 12) return fc.constant(null);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum !== undefined && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  // ids and times get their own generators: random ones would almost never name a user the bundle knows
  const isId = ID_FIELD.test(name) || name === "user_id" || name === "item_id" || name === "author_id";
  if (isId && (schema.anyOf !== undefined || schema.type === "string" || schema.type === "integer")) {
    return entityId(name === "author_id" ? context.vocabulary.authors : name === "user_id" ? context.vocabulary.users : context.vocabulary.items);
  }
  if (TIME_FIELD.test(name) && (schema.type === "integer" || schema.type === "number")) return timestamp(context.vocabulary);
  if (name === "query" && schema.type === "string") return context.query;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives !== undefined && alternatives.length > 0) return fc.oneof(...alternatives.map((alternative) => valueOf(alternative, context, name, depth + 1)));
  if (schema.allOf !== undefined && schema.allOf.length > 0) return valueOf(schema.allOf[0] as JsonSchema, context, name, depth + 1);
  const types = schema.type === undefined ? [] : typeof schema.type === "string" ? [schema.type] : schema.type;
  if (types.length > 1) return fc.oneof(...types.map((type) => valueOf({ ...schema, type }, context, name, depth + 1)));
  switch (types[0]) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer": {
      const min = Math.max(schema.minimum ?? -1e6, schema.exclusiveMinimum === undefined ? -Infinity : schema.exclusiveMinimum + 1, Number.MIN_SAFE_INTEGER);
      const max = Math.min(schema.maximum ?? 1e6, schema.exclusiveMaximum === undefined ? Infinity : schema.exclusiveMaximum - 1, Number.MAX_SAFE_INTEGER);
      // the bounds themselves are where off-by-ones live
      return max < min ? fc.constant(min) : fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
    }
    case "number": {
      const min = schema.minimum ?? schema.exclusiveMinimum ?? -1e6;
      const max = schema.maximum ?? schema.exclusiveMaximum ?? 1e6;
      const bounds = [schema.minimum, schema.maximum].filter((bound): bound is number => bound !== undefined);
      const inside = fc.double({ min, max, noNaN: true, noDefaultInfinity: true, minExcluded: schema.exclusiveMinimum !== undefined, maxExcluded: schema.exclusiveMaximum !== undefined });
      return bounds.length > 0 ? fc.oneof(inside, fc.constantFrom(...bounds)) : inside;
    }
    case "string": {
      const minLength = schema.minLength ?? 0;
      const maxLength = Math.min(schema.maxLength ?? 24, Math.max(minLength, 24));
      return fc.oneof({ weight: 4, arbitrary: fc.string({ minLength, maxLength }) }, { weight: 1, arbitrary: fc.string({ unit: "binary", minLength, maxLength }) });
    }
    case "array": {
      if (schema.prefixItems !== undefined) return fc.tuple(...schema.prefixItems.map((item) => valueOf(item, context, name, depth + 1)));
      const minLength = schema.minItems ?? 0;
      const maxLength = Math.min(schema.maxItems ?? 6, Math.max(minLength, 6));
      return fc.array(valueOf(typeof schema.items === "object" ? schema.items : {}, context, name, depth + 1), { minLength, maxLength });
    }
    case "object": {
      const properties = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const model: Record<string, fc.Arbitrary<Json>> = {};
      for (const [key, property] of Object.entries(properties)) model[key] = valueOf(property, context, key, depth + 1);
      const fixed = fc.record(model, { requiredKeys: [...required].filter((key) => key in model) });
      const extra = schema.additionalProperties;
      if (typeof extra !== "object") return fixed as fc.Arbitrary<Json>;
      // a map (config sources, tag weights): keys from propertyNames when it lists them
      const names = schema.propertyNames?.enum?.filter((key): key is string => typeof key === "string");
      const key = names && names.length > 0 ? fc.constantFrom(...names) : fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/);
      return fc.tuple(fixed, fc.dictionary(key, valueOf(extra, context, "", depth + 1), { maxKeys: 3 })).map(([record, map]) => ({ ...map, ...record }));
    }
    default:
      return fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>;
  }
}

/** A change to a JSON value: where (a node index, wrapped around the node count) and what. */
export type ValueMutation =
  | { readonly kind: "none" }
  | { readonly kind: "wrong_type"; readonly at: number; readonly value: Json }
  | { readonly kind: "drop_field"; readonly at: number }
  | { readonly kind: "extra_field"; readonly at: number; readonly key: string; readonly value: Json }
  | { readonly kind: "huge_string"; readonly at: number; readonly length: number; readonly unit: string }
  | { readonly kind: "huge_array"; readonly at: number; readonly length: number }
  | { readonly kind: "deep_nesting"; readonly at: number; readonly depth: number; readonly shape: "array" | "object" }
  | { readonly kind: "numeric_edge"; readonly at: number; readonly value: Json }
  | { readonly kind: "raw_number"; readonly at: number; readonly text: string }
  | { readonly kind: "time_edge"; readonly at: number; readonly value: number }
  | { readonly kind: "odd_string"; readonly at: number; readonly value: string }
  | { readonly kind: "duplicate_event_ids"; readonly copies: number }
  | { readonly kind: "not_an_object"; readonly value: Json };

/** A change to the bytes or headers sent. */
export type ByteMutation =
  | { readonly kind: "none" }
  | { readonly kind: "invalid_utf8"; readonly at: number; readonly bytes: readonly number[] }
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "oversize"; readonly over: number; readonly chunked: boolean }
  | { readonly kind: "empty" }
  | { readonly kind: "garbage"; readonly bytes: readonly number[] }
  | { readonly kind: "wrap"; readonly prefix: string; readonly suffix: string }
  | { readonly kind: "duplicate_key" }
  | { readonly kind: "chunked" };

export type Auth = "right" | "none" | "wrong" | "other_token" | "malformed";

export interface FuzzCase {
  readonly operation: number;
  readonly auth: Auth;
  readonly malformedAuth: string;
  readonly params: readonly string[];
  readonly query: string;
  readonly contentType: string | null;
  readonly value: Json;
  readonly valueMutation: ValueMutation;
  readonly byteMutation: ByteMutation;
}

const ODD_STRINGS = ["", " ", "\u0000", "\ud800", "\udfff", "\ud83d", "\ufeff", "\u202e", "\u200b", "🙂", "é", "\u0085", "\\", '"', "</script>", "%00", "${x}", "__proto__", "constructor", "null", "NaN", "x".repeat(129)] as const;
const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=latin1",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "application/octet-stream",
  "application/json;;;",
  "*/*",
  "",
] as const;
const MALFORMED_AUTH = ["Bearer", "Bearer ", "bearer x", "Basic dXNlcjpwYXNz", "Bearer  ", "Bearer a b", "Token abc", "Bearer \u00ff\u00fe", "Bearer " + "a".repeat(8192), "Bearer =", "Bearer ....", ",", "Bearer\t"] as const;

/** Every JSON node of `value` in pre-order (the root first), with a way to replace it. */
function nodes(root: Json): { value: Json; replace: (next: Json) => void; parent: Json[] | { [key: string]: Json } | undefined; key: string | number | undefined }[] {
  const out: ReturnType<typeof nodes> = [];
  const walk = (value: Json, parent: Json[] | { [key: string]: Json } | undefined, key: string | number | undefined) => {
    out.push({
      value,
      parent,
      key,
      replace: (next) => {
        if (Array.isArray(parent)) parent[key as number] = next;
        else if (parent !== undefined) parent[key as string] = next;
      },
    });
    if (Array.isArray(value)) value.forEach((child, index) => walk(child, value, index));
    else if (value !== null && typeof value === "object") for (const [childKey, child] of Object.entries(value)) walk(child, value, childKey);
  };
  walk(root, undefined, undefined);
  return out;
}

const clone = (value: Json): Json => (value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json));

/** The value with its mutation applied (a fresh copy). */
export function mutateValue(value: Json, mutation: ValueMutation): Json {
  if (mutation.kind === "none") return value;
  if (mutation.kind === "not_an_object") return mutation.value;
  let root = clone(value);
  if (mutation.kind === "duplicate_event_ids") {
    if (root !== null && typeof root === "object" && !Array.isArray(root) && Array.isArray(root.events) && root.events.length > 0) {
      const first = root.events[0] as Json;
      root.events = [...root.events, ...Array.from({ length: mutation.copies }, () => clone(first))];
    }
    return root;
  }
  const all = nodes(root);
  const pickOf = (candidates: typeof all) => (candidates.length === 0 ? undefined : candidates[mutation.at % candidates.length]);
  const set = (node: (typeof all)[number], next: Json) => {
    if (node.parent === undefined) root = next;
    else node.replace(next);
  };
  switch (mutation.kind) {
    case "wrong_type": {
      const node = pickOf(all.filter((candidate) => candidate.parent !== undefined)) ?? all[0];
      if (node) set(node, mutation.value);
      break;
    }
    case "drop_field": {
      const node = pickOf(all.filter((candidate) => candidate.parent !== undefined && !Array.isArray(candidate.parent)));
      if (node && node.parent && !Array.isArray(node.parent)) delete node.parent[node.key as string];
      break;
    }
    case "extra_field": {
      const node = pickOf(all.filter((candidate) => candidate.value !== null && typeof candidate.value === "object" && !Array.isArray(candidate.value)));
      if (node && node.value !== null && typeof node.value === "object" && !Array.isArray(node.value)) node.value[mutation.key] = mutation.value;
      break;
    }
    case "huge_string": {
      const node = pickOf(all.filter((candidate) => typeof candidate.value === "string")) ?? pickOf(all.filter((candidate) => candidate.parent !== undefined));
      if (node) set(node, mutation.unit.repeat(Math.ceil(mutation.length / Math.max(1, mutation.unit.length))));
      break;
    }
    case "huge_array": {
      const node = pickOf(all.filter((candidate) => Array.isArray(candidate.value))) ?? pickOf(all.filter((candidate) => candidate.parent !== undefined));
      if (node) {
        const element = Array.isArray(node.value) && node.value.length > 0 ? (node.value[0] as Json) : 1;
        // at most MAX_HUGE_ARRAY_BYTES of copies: 120,000 copies of a large element (a serving config's sources) is
        // hundreds of megabytes that take the fuzzer seconds to build, stalling every request in flight, while the
        // Worker answers 413 to anything past the largest route's limit (1 MiB) all the same
        const length = Math.min(mutation.length, Math.max(100, Math.floor(MAX_HUGE_ARRAY_BYTES / (stringify(element).length + 1))));
        set(node, Array.from({ length }, () => element));
      }
      break;
    }
    case "deep_nesting": {
      const node = pickOf(all.filter((candidate) => candidate.parent !== undefined)) ?? all[0];
      // a marker expanded in the text: JSON.stringify (and any recursive walk) overflows the stack long before the
      // Worker's parser might, and the fuzzer must not be what breaks
      if (node) set(node, `${NEST_MARK}${mutation.shape}:${mutation.depth}:${stringify(node.value)}\u0000`);
      break;
    }
    case "numeric_edge":
    case "raw_number":
    case "time_edge": {
      const node = pickOf(all.filter((candidate) => typeof candidate.value === "number")) ?? pickOf(all.filter((candidate) => candidate.parent !== undefined));
      if (node) set(node, mutation.kind === "raw_number" ? rawNumber(mutation.text) : mutation.value);
      break;
    }
    case "odd_string": {
      const node = pickOf(all.filter((candidate) => typeof candidate.value === "string")) ?? pickOf(all.filter((candidate) => candidate.parent !== undefined));
      if (node) set(node, mutation.value);
      break;
    }
  }
  return root;
}

/** JSON text of the value, raw numbers written in place of their markers. */
export function stringify(value: Json): string {
  let text = JSON.stringify(value) ?? "null";
  if (text.includes("\\u0000nest:")) {
    text = text.replace(/"\\u0000nest:(array|object):(\d+):((?:[^"\\]|\\.)*?)\\u0000"/g, (_, shape: string, depth: string, inner: string) => {
      const n = Number(depth);
      const innerText = JSON.parse(`"${inner}"`) as string;
      return shape === "array" ? `${"[".repeat(n)}${innerText}${"]".repeat(n)}` : `${'{"a":'.repeat(n)}${innerText}${"}".repeat(n)}`;
    });
  }
  return text.includes("\\u0000raw:") ? text.replace(/"\\u0000raw:([^"\\]*)\\u0000"/g, "$1") : text;
}

/** The body bytes, and how to send them. */
export interface Materialised {
  readonly bytes: Uint8Array;
  /** Sent without Content-Length (Transfer-Encoding: chunked), so the Worker must count while reading. */
  readonly chunked: boolean;
}

export function materialiseBody(value: Json, mutation: ByteMutation, maxBytes: number): Materialised {
  const encoder = new TextEncoder();
  // the value's text only where the mutation uses it: it can be megabytes
  if (mutation.kind === "oversize" || mutation.kind === "empty" || mutation.kind === "garbage") return materialiseWithoutValue(mutation, maxBytes);
  const text = stringify(value);
  const bytes = encoder.encode(text);
  switch (mutation.kind) {
    case "none":
      return { bytes, chunked: false };
    case "chunked":
      return { bytes, chunked: true };
    case "invalid_utf8": {
      // inside a string where there is one (the JSON stays well-formed but for the bytes), else anywhere
      const quote = text.indexOf('"', mutation.at % Math.max(1, text.length));
      const at = quote >= 0 ? encoder.encode(text.slice(0, quote + 1)).length : mutation.at % (bytes.length + 1);
      // copied with set, not spread: a body of megabytes spread into an array literal stalls the fuzzer for a second,
      // and every request in flight meanwhile would be timed with the stall
      const out = new Uint8Array(bytes.length + mutation.bytes.length);
      out.set(bytes.subarray(0, at), 0);
      out.set(mutation.bytes, at);
      out.set(bytes.subarray(at), at + mutation.bytes.length);
      return { bytes: out, chunked: false };
    }
    case "truncate":
      return { bytes: bytes.subarray(0, mutation.at % Math.max(1, bytes.length)), chunked: false };
    case "wrap":
      return { bytes: encoder.encode(mutation.prefix + text + mutation.suffix), chunked: false };
    case "duplicate_key": {
      // the first key again, with a value of another type: JSON.parse keeps the last, others the first
      const match = /^\{"((?:[^"\\]|\\.)*)":/.exec(text);
      return { bytes: match ? encoder.encode(`{"${match[1]}":[{"x":1}],${text.slice(1)}`) : bytes, chunked: false };
    }
  }
}

function materialiseWithoutValue(mutation: Extract<ByteMutation, { kind: "oversize" | "empty" | "garbage" }>, maxBytes: number): Materialised {
  switch (mutation.kind) {
    case "oversize": {
      // a well-formed JSON object just over the limit: only the limit can refuse it
      const size = maxBytes + 1 + mutation.over;
      const frame = '{"pad":""}';
      return { bytes: new TextEncoder().encode(`{"pad":"${"x".repeat(Math.max(0, size - frame.length))}"}`), chunked: mutation.chunked };
    }
    case "empty":
      return { bytes: new Uint8Array(0), chunked: false };
    case "garbage":
      return { bytes: new Uint8Array(mutation.bytes), chunked: false };
  }
}

function valueMutation(hasEvents: boolean): fc.Arbitrary<ValueMutation> {
  const at = fc.nat({ max: 10_000 });
  const anyJson = fc.oneof(fc.constantFrom<Json>(null, true, false, "", "x", 0, -1, 1.5, [], {}, [null], { "": null }), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>);
  const options: fc.WeightedArbitrary<ValueMutation>[] = [
    { weight: 6, arbitrary: fc.constant({ kind: "none" as const }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("wrong_type" as const), at, value: anyJson }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("drop_field" as const), at }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("extra_field" as const), at, key: fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "", "user_id", "toString", "x"), fc.string({ maxLength: 8 })), value: anyJson }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("huge_string" as const), at, length: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 65, max: 5000 }) }, { weight: 1, arbitrary: fc.integer({ min: 5000, max: 300_000 }) }), unit: fc.constantFrom("x", "é", "🙂", "\\", "\u0000", "(", "[") }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("huge_array" as const), at, length: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 100, max: 2000 }) }, { weight: 1, arbitrary: fc.integer({ min: 2000, max: 120_000 }) }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("deep_nesting" as const), at, depth: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 10, max: 1000 }) }, { weight: 1, arbitrary: fc.integer({ min: 1000, max: 60_000 }) }), shape: fc.constantFrom("array" as const, "object" as const) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("numeric_edge" as const), at, value: fc.constantFrom(...NUMERIC_EDGES) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("raw_number" as const), at, text: fc.constantFrom(...RAW_NUMBERS) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("time_edge" as const), at, value: fc.constantFrom(...TIME_EDGES) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("odd_string" as const), at, value: fc.oneof(fc.constantFrom(...ODD_STRINGS), fc.string({ unit: "binary", maxLength: 20 })) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("not_an_object" as const), value: anyJson }) },
  ];
  if (hasEvents) options.push({ weight: 4, arbitrary: fc.record({ kind: fc.constant("duplicate_event_ids" as const), copies: fc.integer({ min: 1, max: 1200 }) }) });
  return fc.oneof(...options);
}

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("invalid_utf8" as const), at: fc.nat({ max: 10_000 }), bytes: fc.constantFrom([0xff], [0xfe, 0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat({ max: 10_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("oversize" as const), over: fc.oneof(fc.constant(0), fc.nat({ max: 64 * 1024 })), chunked: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: "empty" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("garbage" as const), bytes: fc.array(fc.nat({ max: 255 }), { maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wrap" as const), prefix: fc.constantFrom("", "\ufeff", " \n\t", "[", "null", "user_id=1&"), suffix: fc.constantFrom("", " ", "\n", "}", ",", "garbage", "\u0000", "]") }) },
  { weight: 1, arbitrary: fc.constant({ kind: "duplicate_key" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "chunked" as const }) },
);

/** A path parameter: a name the Worker may know, the schema's edges, or something hostile to decode. */
function pathParameter(vocabulary: Vocabulary): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...vocabulary.items, ...vocabulary.users.slice(0, 10)) },
    { weight: 2, arbitrary: fc.constantFrom("0", "-1", "9007199254740991", "9007199254740992", "1e3", "1.5", "00", "x".repeat(64), "x".repeat(65), "x".repeat(5000), "author-cap-1", "control", "%00", "%2F", "%2e%2e", "..", "%E0%A4%A", "%", "%ZZ", "%ED%A0%80", "%C0%AF", "%FF", "%20", "a%20", "%F0%9F%99%82", "__proto__", "constructor") },
    { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 70 }).map((text) => encodeURIComponent(text.replace(/[\ud800-\udfff]/g, "x"))) },
  );
}

const queryString = fc.oneof(
  { weight: 8, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.constantFrom("?", "?debug=true", "?user_id=1&user_id=2", "?%ZZ", "?a=%E0%A4%A", "?count=1e999", `?x=${"y".repeat(4000)}`) },
);

/** Cases for one operation of the contract. */
export function caseFor(index: number, operation: Operation, context: GeneratorContext): fc.Arbitrary<FuzzCase> {
  const value = operation.body ? valueOf(operation.body.schema, context) : fc.constant<Json>(null);
  const hasEvents = operation.operationId === "ingestEvents";
  return fc.record({
    operation: fc.constant(index),
    auth: fc.oneof({ weight: 6, arbitrary: fc.constant<Auth>("right") }, { weight: 1, arbitrary: fc.constantFrom<Auth>("none", "wrong", "other_token", "malformed") }),
    malformedAuth: fc.constantFrom(...MALFORMED_AUTH),
    params: fc.tuple(...operation.params.map(() => pathParameter(context.vocabulary))),
    query: queryString,
    contentType: fc.oneof({ weight: 6, arbitrary: fc.constant<string | null>("application/json") }, { weight: 1, arbitrary: fc.constant<string | null>(null) }, { weight: 2, arbitrary: fc.constantFrom<string | null>(...CONTENT_TYPES) }),
    value,
    valueMutation: operation.body ? valueMutation(hasEvents) : fc.constant<ValueMutation>({ kind: "none" }),
    // a bodiless route gets a body now and then: it must ignore it
    byteMutation: operation.body ? byteMutation : fc.oneof({ weight: 8, arbitrary: fc.constant<ByteMutation>({ kind: "empty" }) }, { weight: 1, arbitrary: byteMutation }),
  });
}
