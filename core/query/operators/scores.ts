import type { OperatorDefinition } from "../operator";
import { withScore } from "../stream";

/** Operators that rescore or reorder a stream without reading any port: how a source weighs what it found. */

export const positionWeight: OperatorDefinition = {
  name: "position_weight",
  summary: "sets each entry's score to 1 / (1 + decay × its position): earlier (more recent) entries weigh more",
  inputs: ["account", "media"],
  output: "same",
  params: [{ name: "decay", type: { kind: "decimal", min: 0, max: 100 }, default: 0.1, doc: "how fast the weight falls with the position" }],
  size: { kind: "same" },
  async run(input, step) {
    const decay = step.args.decimal("decay");
    return input.map((entry, position) => withScore(entry, 1 / (1 + decay * position)));
  },
};

export const scale: OperatorDefinition = {
  name: "scale",
  summary: "multiplies every entry's score by a constant",
  inputs: ["account", "media"],
  output: "same",
  params: [{ name: "by", type: { kind: "decimal", min: 0, max: 1_000_000 }, required: true, doc: "the factor" }],
  size: { kind: "same" },
  async run(input, step) {
    const by = step.args.decimal("by");
    return input.map((entry) => withScore(entry, entry.score * by));
  },
};

export const normalize: OperatorDefinition = {
  name: "normalize",
  summary: "divides every score by the stream's largest, so the best entry scores 1 (no change when none is positive)",
  inputs: ["account", "media"],
  output: "same",
  params: [],
  size: { kind: "same" },
  async run(input) {
    const best = input.reduce((top, entry) => Math.max(top, entry.score), 0);
    return best > 0 ? input.map((entry) => withScore(entry, entry.score / best)) : [...input];
  },
};

export const top: OperatorDefinition = {
  name: "top",
  summary: "the n best entries by score, best first (equal scores: lower id first)",
  inputs: ["account", "media"],
  output: "same",
  params: [{ name: "n", type: { kind: "integer", min: 1, max: 1_000_000 }, required: true, doc: "how many entries to keep" }],
  size: { kind: "at_most", param: "n" },
  async run(input, step) {
    return [...input].sort((a, b) => b.score - a.score || a.id - b.id).slice(0, step.args.integer("n"));
  },
};
