import { checkAligned, type OperatorDefinition } from "../operator";
import { withAttributes, type StreamEntry } from "../stream";
import type { AttributeValue } from "../types";

/**
 * `let(name=expression, ...)` binds attributes on every entry of the stream; every entry derived
 * later inherits them, so `diversify_by(seed_id)` can group final items by where they came from.
 * Expressions: user_id, account_id (account streams), media_id and author_id (media streams), or a
 * literal (number, "string", true/false). The planner checks which expression fits which stream.
 */
export const letBinding: OperatorDefinition = {
  name: "let",
  summary: "binds attributes (name=expression) that every later candidate carries",
  inputs: ["user", "account", "media"],
  output: "same",
  params: [],
  takesBindings: true,
  size: { kind: "same" },
  ports: ["authorsOf"],
  async run(input, step) {
    const needsAuthors = step.bindings.some((binding) => binding.value.kind === "expression" && binding.value.name === "author_id");
    const ids = input.map((entry) => entry.id);
    const authors =
      needsAuthors && input.length > 0
        ? checkAligned(step, "authorsOf", await step.call("authorsOf", () => step.stores.authorsOf(ids)), ids, Number.isSafeInteger, "an author id (safe integer)")
        : undefined;
    return input.map((entry, i): StreamEntry => {
      step.budget.tick();
      const attributes: Record<string, AttributeValue> = { ...entry.attributes };
      for (const { name, value } of step.bindings) {
        if (value.kind === "literal") attributes[name] = value.value;
        else if (value.name === "user_id") attributes[name] = step.userId;
        else if (value.name === "author_id") attributes[name] = (authors as ArrayLike<number>)[i] as number;
        else attributes[name] = entry.id; // account_id / media_id: the planner made sure the stream type matches
      }
      return withAttributes(entry, Object.freeze(attributes));
    });
  },
};
