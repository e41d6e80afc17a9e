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
  ports: [],
  run(input, step) {
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
  ports: [],
  run(input, step) {
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
  ports: [],
  run(input) {
    const best = input.reduce((top, entry) => Math.max(top, entry.score), 0);
    return best > 0 ? input.map((entry) => withScore(entry, entry.score / best)) : [...input];
  },
};
