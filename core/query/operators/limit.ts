import type { OperatorDefinition } from "../operator";

export const limit: OperatorDefinition = {
  name: "limit",
  summary: "keeps the first n entries of the stream",
  inputs: ["account", "media"],
  output: "same",
  params: [{ name: "n", type: { kind: "integer", min: 1, max: 1_000_000 }, required: true, doc: "how many entries to keep" }],
  size: { kind: "at_most", param: "n" },
  async run(input, step) {
    return input.slice(0, step.args.integer("n"));
  },
};
