import type { ArgumentNode, CallNode, QueryAst, Span, ValueNode } from "./ast";
import { QueryError, didYouMean } from "./errors";
import { LIMIT_NAMES, limitError, resolveLimits, type QueryLimits } from "./limits";
import type { OperatorDefinition } from "./operator";
import { OPERATORS } from "./operators";
import { parseQuery } from "./parser";
import { printQuery } from "./printer";
import {
  ArgumentValues,
  BINDING_EXPRESSIONS,
  type ArgumentValue,
  type Binding,
  type BindingExpressionName,
  type ConfigFamily,
  type ParamSpec,
  type StreamType,
} from "./types";

export interface PlanOptions {
  readonly limits?: Partial<QueryLimits>;
  /** Known ranking model names; when given, `rank(ranking_model=x)` must name one of them. */
  readonly rankingModels?: readonly string[];
  /** Known embedding configurations; when given, `embedding_config=x` must name one of them. */
  readonly embeddingConfigs?: readonly string[];
  /**
   * Named numbers a query may use as an integer or decimal argument, written as a bare word (`n=quota`): the caller's
   * own settings (Explore binds each source's `quota`). They are bound when the query is planned.
   */
  readonly parameters?: Readonly<Record<string, number>>;
}

/**
 * Where a query starts. `user` is the requesting user; `seed_accounts`/`seed_media` are the seeds the
 * caller passes in `QueryContext` (Suggested Posts' H/R/F seeds); `account(<ids>)`/`media(<ids>)` are literal ids.
 */
export const ROOTS = {
  user: { output: "user", takesIds: false, doc: "the requesting user (one entry)" },
  seed_accounts: { output: "account", takesIds: false, doc: "the caller's seed accounts (QueryContext.seedAccounts)" },
  seed_media: { output: "media", takesIds: false, doc: "the caller's seed media (QueryContext.seedMedia)" },
  account: { output: "account", takesIds: true, doc: "literal account ids: account(12) or account([12, 40])" },
  media: { output: "media", takesIds: true, doc: "literal media ids: media(7) or media([7, 9])" },
} as const satisfies Record<string, { output: StreamType; takesIds: boolean; doc: string }>;

export type RootName = keyof typeof ROOTS;

export interface PlannedRoot {
  readonly name: RootName;
  readonly output: StreamType;
  /** The literal ids of `account(...)`/`media(...)` roots. */
  readonly ids: readonly number[] | undefined;
  readonly span: Span;
}

export interface PlannedStep {
  readonly index: number;
  readonly operator: OperatorDefinition;
  readonly args: ArgumentValues;
  readonly bindings: readonly Binding[];
  readonly input: StreamType;
  readonly output: StreamType;
  /** From the "." to the ")". */
  readonly span: Span;
  readonly nameSpan: Span;
}

/** A checked query, ready to run any number of times. */
export interface QueryPlan {
  /** The canonical text (`printQuery`), usable as a cache key. */
  readonly text: string;
  readonly ast: QueryAst;
  readonly root: PlannedRoot;
  readonly steps: readonly PlannedStep[];
  readonly limits: QueryLimits;
  /**
   * The most items after the root and after each step, as the arguments allow. Undefined for
   * `seed_*` roots, whose size is known only at run time (the executor checks it then).
   */
  readonly worstCase: readonly number[] | undefined;
}

export interface QueryAnalysis {
  readonly plan: QueryPlan | undefined;
  /** Every problem found, in text order; syntax errors stop at the first. */
  readonly errors: readonly QueryError[];
}

/** Whether a step of the plan may call a port that `matches` (from the ports each operator declares). */
export function planReads(plan: QueryPlan, matches: (port: string) => boolean): boolean {
  return plan.steps.some((step) => step.operator.ports.some(matches));
}

/** Parses (when given text) and checks a query; throws the first QueryError. */
export function planQuery(query: string | QueryAst, options: PlanOptions = {}): QueryPlan {
  const analysis = analyzeQuery(query, options);
  const first = analysis.errors[0];
  if (first) throw first;
  return analysis.plan as QueryPlan;
}

/** Like `planQuery`, but reports every type and limit problem at once (for editors and the HTTP layer). */
export function analyzeQuery(query: string | QueryAst, options: PlanOptions = {}): QueryAnalysis {
  const limits = resolveLimits(options.limits);
  let ast: QueryAst;
  try {
    ast = typeof query === "string" ? parseQuery(query, limits) : query;
  } catch (error) {
    if (error instanceof QueryError) return { plan: undefined, errors: [error] };
    throw error;
  }
  return new Planner(ast, limits, options).analyze();
}

const typeWithArticle = (type: StreamType) => `${type === "account" ? "an" : "a"} ${type} stream`;
const typeList = (types: readonly StreamType[]) => types.join(" or ");

function describeValue(value: ValueNode): string {
  switch (value.kind) {
    case "integer":
      return `integer ${value.value}`;
    case "decimal":
      return `decimal ${value.value}`;
    case "string":
      return `string ${JSON.stringify(value.value)}`;
    case "boolean":
      return String(value.value);
    case "identifier":
      return `word ${value.name}`;
    case "list":
      return `a list of ${value.items.length}`;
  }
}

class Planner {
  private readonly errors: QueryError[] = [];

  constructor(
    private readonly ast: QueryAst,
    private readonly limits: QueryLimits,
    private readonly options: PlanOptions,
  ) {}

  analyze(): QueryAnalysis {
    const { ast, limits } = this;
    const over = ast.calls[limits.maxOperators];
    if (over) {
      const reason = `the query has ${ast.calls.length} operators, over the limit max_operators = ${limits.maxOperators}`;
      return { plan: undefined, errors: [limitError("maxOperators", reason, over.span)] };
    }
    const root = this.root();
    let current: StreamType | undefined = root?.output;
    let producer = `the root ${ast.root.name.text}`;
    const bound = new Set<string>();
    const steps: PlannedStep[] = [];
    ast.calls.forEach((call, index) => {
      const operator = OPERATORS.get(call.name.text);
      if (!operator) {
        this.fail("type", "unknown_operator", `unknown operator ${call.name.text}${didYouMean(call.name.text, OPERATORS.keys())}`, call.name.span);
        current = undefined;
        return;
      }
      if (current !== undefined && !operator.inputs.includes(current)) {
        const expects = operator.inputs.length === 1 ? typeWithArticle(operator.inputs[0] as StreamType) : `${operator.inputs[0] === "account" ? "an" : "a"} ${typeList(operator.inputs)} stream`;
        this.fail("type", "stream_mismatch", `${call.name.text} expects ${expects} but ${producer} produces ${current}`, call.name.span);
      }
      const input = current;
      const output = operator.output === "same" ? input : operator.output;
      if (operator.output !== "same") producer = call.name.text;
      const bindings = operator.takesBindings ? this.bindings(call, input) : [];
      const args = operator.takesBindings ? new ArgumentValues(new Map(), new Map()) : this.arguments(operator, call, bound);
      if (args) this.checkFanOut(operator, call, args);
      for (const binding of bindings) bound.add(binding.name);
      if (input !== undefined && output !== undefined && args) {
        steps.push({ index, operator, args, bindings, input, output, span: call.span, nameSpan: call.name.span });
      }
      current = operator.output === "same" && input === undefined ? undefined : output;
    });
    if (current !== undefined && current !== "media") {
      const last = ast.calls[ast.calls.length - 1];
      const hint = current === "account" ? "posted_media" : "liked_media, engaged_media, popular or trending";
      const ending = last ? `${last.name.text}, and ${producer} produces ${current}` : `the root ${ast.root.name.text}, a ${current} stream`;
      this.fail("type", "query_output", `a query must end in a media stream, but it ends with ${ending}; continue with ${hint}`, last ? last.name.span : ast.root.span);
    }
    if (this.errors.length > 0 || !root) return { plan: undefined, errors: this.sortedErrors() };
    const plan: QueryPlan = { text: printQuery(ast), ast, root, steps, limits, worstCase: undefined };
    const rootSize = rootSizeAtPlanTime(root);
    if (rootSize === undefined) return { plan, errors: [] };
    try {
      return { plan: { ...plan, worstCase: worstCaseSizes(plan, rootSize) }, errors: [] };
    } catch (error) {
      if (error instanceof QueryError) return { plan: undefined, errors: [error] };
      throw error;
    }
  }

  private sortedErrors(): QueryError[] {
    return [...this.errors].sort((a, b) => a.offset - b.offset);
  }

  private fail(kind: "type" | "limit", code: string, reason: string, at: Span, limit?: string): undefined {
    this.errors.push(new QueryError(kind, code, reason, at, limit));
    return undefined;
  }

  private root(): PlannedRoot | undefined {
    const node = this.ast.root;
    const name = node.name.text;
    if (!Object.hasOwn(ROOTS, name)) {
      return this.fail(
        "type",
        "unknown_root",
        `unknown root ${name}: a query starts with user, seed_accounts, seed_media, account(<ids>) or media(<ids>)${didYouMean(name, Object.keys(ROOTS))}`,
        node.name.span,
      );
    }
    const rootName = name as RootName;
    const spec = ROOTS[rootName];
    if (!spec.takesIds) {
      if (node.args.length > 0) return this.fail("type", "root_arguments", `${name} takes no arguments`, (node.args[0] as ArgumentNode).span);
      return { name: rootName, output: spec.output, ids: undefined, span: node.span };
    }
    const [argument, extra] = node.args;
    if (!argument) return this.fail("type", "root_arguments", `${name} needs ids: ${name}(12) or ${name}([12, 40])`, node.span);
    if (extra) return this.fail("type", "root_arguments", `${name} takes one argument, an id or a list of ids; found another`, extra.span);
    if (argument.name) return this.fail("type", "root_arguments", `${name} takes its ids positionally: ${name}(12) or ${name}([12, 40])`, argument.span);
    const values = argument.value.kind === "list" ? argument.value.items : [argument.value];
    const ids: number[] = [];
    for (const value of values) {
      if (value.kind !== "integer") return this.fail("type", "argument_type", `ids of ${name} must be integers, found ${describeValue(value)}`, value.span);
      ids.push(value.value);
    }
    return { name: rootName, output: spec.output, ids, span: node.span };
  }

  private bindings(call: CallNode, stream: StreamType | undefined): Binding[] {
    if (call.args.length === 0) {
      this.fail("type", "invalid_binding", "let needs at least one binding such as seed_id=user_id", call.span);
      return [];
    }
    const bindings: Binding[] = [];
    const names = new Set<string>();
    for (const argument of call.args) {
      if (!argument.name) {
        this.fail("type", "invalid_binding", `let takes name=expression bindings such as seed_id=user_id, found ${describeValue(argument.value)}`, argument.span);
        continue;
      }
      const name = argument.name.text;
      if (Object.hasOwn(BINDING_EXPRESSIONS, name)) {
        this.fail("type", "invalid_binding", `${name} is an expression and cannot be rebound; pick another name such as seed_id`, argument.name.span);
        continue;
      }
      if (names.has(name)) {
        this.fail("type", "duplicate_argument", `${name} is bound twice in the same let`, argument.span);
        continue;
      }
      names.add(name);
      const value = argument.value;
      switch (value.kind) {
        case "integer":
        case "decimal":
        case "string":
        case "boolean":
          bindings.push({ name, value: { kind: "literal", value: value.value }, span: argument.span });
          break;
        case "list":
          this.fail("type", "invalid_binding", `the value of ${name} must be an expression or a single literal, found a list`, value.span);
          break;
        case "identifier": {
          // own keys only: `constructor` and `toString` are on every object, and are no expressions (found by fuzzing)
          const expression = Object.hasOwn(BINDING_EXPRESSIONS, value.name) ? BINDING_EXPRESSIONS[value.name as BindingExpressionName] : undefined;
          if (!expression) {
            const known = Object.keys(BINDING_EXPRESSIONS);
            this.fail(
              "type",
              "invalid_binding",
              `unknown expression ${value.name} in let; use ${known.join(", ")} or a quoted string${didYouMean(value.name, known)}`,
              value.span,
            );
          } else if (stream !== undefined && !(expression.streams as readonly StreamType[]).includes(stream)) {
            this.fail("type", "invalid_binding", `${value.name} is defined on ${typeList(expression.streams)} streams, but here the stream is ${stream}`, value.span);
          } else {
            bindings.push({ name, value: { kind: "expression", name: value.name as BindingExpressionName }, span: argument.span });
          }
          break;
        }
      }
    }
    return bindings;
  }

  /** Binds positional then named arguments to parameters, converts and range-checks them, fills defaults. */
  private arguments(operator: OperatorDefinition, call: CallNode, bound: ReadonlySet<string>): ArgumentValues | undefined {
    const values = new Map<string, ArgumentValue>();
    const spans = new Map<string, Span>();
    const errorsBefore = this.errors.length;
    const names = operator.params.map((param) => param.name);
    call.args.forEach((argument, position) => {
      let param: ParamSpec | undefined;
      if (argument.name) {
        param = operator.params.find((candidate) => candidate.name === argument.name?.text);
        if (!param) {
          const accepted = names.length === 0 ? "it takes no arguments" : `its arguments are ${names.join(", ")}`;
          this.fail("type", "unknown_argument", `${operator.name} has no argument ${argument.name.text}; ${accepted}${didYouMean(argument.name.text, names)}`, argument.name.span);
          return;
        }
      } else {
        param = operator.params[position];
        if (!param) {
          const takes = names.length === 0 ? "no arguments" : `at most ${names.length} (${names.join(", ")})`;
          this.fail("type", "too_many_arguments", `${operator.name} takes ${takes}, found ${describeValue(argument.value)}`, argument.span);
          return;
        }
      }
      if (values.has(param.name) || spans.has(param.name)) {
        this.fail("type", "duplicate_argument", `${param.name} is given twice in ${operator.name}`, argument.span);
        return;
      }
      spans.set(param.name, argument.span);
      const value = this.convert(operator, param, argument.value, bound);
      if (value !== undefined) values.set(param.name, value);
    });
    for (const param of operator.params) {
      if (spans.has(param.name)) continue;
      if (param.required) {
        this.fail("type", "missing_argument", `${operator.name} is missing its required argument ${param.name} (${param.doc})`, call.name.span);
      } else if (param.default !== undefined) {
        values.set(param.name, param.default);
      }
    }
    return this.errors.length === errorsBefore ? new ArgumentValues(values, spans) : undefined;
  }

  private convert(operator: OperatorDefinition, param: ParamSpec, value: ValueNode, bound: ReadonlySet<string>): ArgumentValue | undefined {
    const subject = `${param.name} of ${operator.name}`;
    const type = param.type;
    const wrongType = (expected: string) => this.fail("type", "argument_type", `${subject} expects ${expected}, found ${describeValue(value)}`, value.span);
    if ((type.kind === "integer" || type.kind === "decimal") && value.kind === "identifier") {
      const parameters = this.options.parameters ?? {};
      const bound = Object.hasOwn(parameters, value.name) ? parameters[value.name] : undefined;
      if (bound === undefined) {
        const known = Object.keys(parameters);
        return wrongType(known.length === 0 ? `a number` : `a number or one of the parameters ${known.join(", ")}${didYouMean(value.name, known)}`);
      }
      value = Number.isInteger(bound) ? { kind: "integer", value: bound, span: value.span } : { kind: "decimal", value: bound, span: value.span };
    }
    switch (type.kind) {
      case "integer": {
        if (value.kind !== "integer") return wrongType("an integer");
        if (value.value < type.min || value.value > type.max) {
          return this.fail("type", "argument_range", `${subject} must be between ${type.min} and ${type.max}, found ${value.value}`, value.span);
        }
        return value.value;
      }
      case "decimal": {
        if (value.kind !== "integer" && value.kind !== "decimal") return wrongType("a number");
        const tooLow = type.minExclusive ? value.value <= type.min : value.value < type.min;
        if (tooLow || value.value > type.max) {
          const lower = type.minExclusive ? `greater than ${type.min} and at most ${type.max}` : `between ${type.min} and ${type.max}`;
          return this.fail("type", "argument_range", `${subject} must be ${lower}, found ${value.value}`, value.span);
        }
        return value.value;
      }
      case "boolean":
        return value.kind === "boolean" ? value.value : wrongType("true or false");
      case "enum": {
        const word = value.kind === "identifier" ? value.name : value.kind === "string" ? value.value : undefined;
        if (word === undefined) return wrongType(`one of ${type.values.join(", ")}`);
        if (!type.values.includes(word)) {
          return this.fail("type", "argument_value", `${subject} must be one of ${type.values.join(", ")}, found ${word}${didYouMean(word, type.values)}`, value.span);
        }
        return word;
      }
      case "config_name": {
        const word = value.kind === "identifier" ? value.name : value.kind === "string" ? value.value : undefined;
        if (word === undefined) return wrongType(`the name of ${configNoun(type.family)}`);
        const known = type.family === "ranking_model" ? this.options.rankingModels : this.options.embeddingConfigs;
        if (known && !known.includes(word)) {
          return this.fail(
            "type",
            "unknown_name",
            `${subject} names an unknown ${configNoun(type.family).replace(/^an? /, "")} ${word}; known: ${known.join(", ")}${didYouMean(word, known)}`,
            value.span,
          );
        }
        return word;
      }
      case "attribute": {
        if (value.kind !== "identifier") return wrongType("the name of an attribute bound by let");
        if (!bound.has(value.name)) {
          const hint = bound.size === 0 ? `; bind it first, e.g. .let(${value.name}=account_id)` : `${didYouMean(value.name, bound)}`;
          return this.fail("type", "unbound_attribute", `${operator.name} refers to ${value.name}, which no earlier let binds${hint}`, value.span);
        }
        return value.name;
      }
    }
  }

  private checkFanOut(operator: OperatorDefinition, call: CallNode, args: ArgumentValues): void {
    if (operator.size.kind !== "expand") return;
    const param = operator.size.param;
    const fanOut = args.integer(param);
    if (fanOut <= this.limits.maxFanOut) return;
    const at = args.spans.get(param) ?? call.name.span;
    this.fail(
      "limit",
      LIMIT_NAMES.maxFanOut,
      `${operator.name} may produce up to ${fanOut} items per input (${param}=${fanOut}), over the limit max_fan_out = ${this.limits.maxFanOut}`,
      at,
      LIMIT_NAMES.maxFanOut,
    );
  }
}

function configNoun(family: ConfigFamily): string {
  return family === "ranking_model" ? "a ranking model" : "an embedding configuration";
}

function rootSizeAtPlanTime(root: PlannedRoot): number | undefined {
  if (root.name === "user") return 1;
  return root.ids?.length;
}

/**
 * The most items after the root (`rootSize`) and after each step, as the arguments allow; throws
 * a `limit` QueryError when a step could exceed max_step_items or the result max_candidates.
 * The planner calls it when the root's size is known, the executor for `seed_*` roots.
 */
export function worstCaseSizes(plan: Pick<QueryPlan, "steps" | "limits" | "ast">, rootSize: number): number[] {
  const { limits } = plan;
  const sizes = [rootSize];
  if (rootSize > limits.maxStepItems) {
    throw limitError("maxStepItems", `the query starts from ${rootSize} items, over the limit max_step_items = ${limits.maxStepItems}`, plan.ast.root.span);
  }
  let size = rootSize;
  for (const step of plan.steps) {
    const rule = step.operator.size;
    let why: string;
    const inputs = size;
    switch (rule.kind) {
      case "source":
        size = step.args.integer(rule.param);
        why = `${rule.param}=${size}`;
        break;
      case "expand":
        size = inputs * step.args.integer(rule.param);
        why = `up to ${inputs} inputs × ${rule.param}=${step.args.integer(rule.param)}`;
        break;
      case "same":
        why = `as many as its input`;
        break;
      case "at_most":
        size = Math.min(inputs, step.args.integer(rule.param));
        why = `${rule.param}=${step.args.integer(rule.param)}`;
        break;
    }
    if (size > limits.maxStepItems) {
      throw limitError(
        "maxStepItems",
        `${step.operator.name} may produce up to ${size} items (${why}), over the limit max_step_items = ${limits.maxStepItems}; lower its arguments or those of earlier steps`,
        step.span,
      );
    }
    sizes.push(size);
  }
  if (size > limits.maxCandidates) {
    const last = plan.steps[plan.steps.length - 1];
    throw limitError(
      "maxCandidates",
      `the query may return up to ${size} candidates, over the limit max_candidates = ${limits.maxCandidates}; end it with .limit(n) or lower the arguments`,
      last ? last.span : plan.ast.root.span,
    );
  }
  return sizes;
}
