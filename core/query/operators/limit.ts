import type { OperatorDefinition } from "../operator";
import type { StreamEntry } from "../stream";

/** The operators that keep the first n entries of a stream, as it comes or best first. */
function firstN(name: string, summary: string, order?: (a: StreamEntry, b: StreamEntry) => number): OperatorDefinition {
  return {
    name,
    summary,
    inputs: ["account", "media"],
    output: "same",
    params: [{ name: "n", type: { kind: "integer", min: 1, max: 1_000_000 }, required: true, doc: "how many entries to keep" }],
    size: { kind: "at_most", param: "n" },
    ports: [],
    run(input, step) {
      return (order ? [...input].sort(order) : input).slice(0, step.args.integer("n"));
    },
  };
}

export const limit = firstN("limit", "keeps the first n entries of the stream");

export const top = firstN("top", "the n best entries by score, best first (equal scores: lower id first)", (a, b) => b.score - a.score || a.id - b.id);
