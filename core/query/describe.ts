import type { OperatorDefinition } from "./operator";
import { OPERATORS } from "./operators";
import type { ArgumentValue, ParamType, StreamType } from "./types";

/** The operator table as data: for docs, `GET /v1/query/operators`, and editor completion. */
export interface OperatorDescription {
  readonly name: string;
  readonly summary: string;
  readonly input: readonly StreamType[];
  readonly output: StreamType | "same";
  readonly size: string;
  readonly arguments: readonly {
    readonly name: string;
    readonly type: string;
    readonly required: boolean;
    readonly default?: ArgumentValue;
    readonly doc: string;
  }[];
}

export function operatorTable(): OperatorDescription[] {
  return [...OPERATORS.values()].map(describeOperator);
}

function describeOperator(operator: OperatorDefinition): OperatorDescription {
  const size = operator.size;
  return {
    name: operator.name,
    summary: operator.summary,
    input: operator.inputs,
    output: operator.output,
    size:
      size.kind === "source"
        ? `≤ ${size.param}`
        : size.kind === "expand"
          ? `≤ input × ${size.param}`
          : size.kind === "same"
            ? "≤ input"
            : `≤ min(input, ${size.param})`,
    arguments: operator.takesBindings
      ? [{ name: "<name>", type: "user_id | account_id | media_id | author_id | literal", required: true, doc: "one or more attribute bindings" }]
      : operator.params.map((param) => ({
          name: param.name,
          type: describeType(param.type),
          required: param.required === true,
          ...(param.default === undefined ? {} : { default: param.default }),
          doc: param.doc,
        })),
  };
}

function describeType(type: ParamType): string {
  switch (type.kind) {
    case "integer":
      return `integer ${type.min}..${type.max}`;
    case "decimal":
      return `number ${type.minExclusive ? "(" : "["}${type.min}, ${type.max}]`;
    case "boolean":
      return "boolean";
    case "enum":
      return type.values.join(" | ");
    case "config_name":
      return type.family === "ranking_model" ? "ranking model name" : "embedding config name";
    case "attribute":
      return "attribute bound by let";
  }
}
