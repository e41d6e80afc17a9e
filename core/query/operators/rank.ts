import { checkAligned, type OperatorDefinition } from "../operator";
import { withScore } from "../stream";

/** Scores every item with a ranking model (through the `rank` port) and sorts best first; ties keep stream order. */
export const rank: OperatorDefinition = {
  name: "rank",
  summary: "scores items with a ranking model and sorts them best first",
  inputs: ["media"],
  output: "media",
  params: [{ name: "ranking_model", type: { kind: "config_name", family: "ranking_model" }, default: "default", doc: "which model scores the items" }],
  size: { kind: "same" },
  ports: ["rank"],
  async run(input, step) {
    if (input.length === 0) return [];
    const ids = input.map((entry) => entry.id);
    const model = step.args.text("ranking_model");
    const scores = checkAligned(step, "rank", await step.call("rank", () => step.stores.rank(step.userId, ids, model)), ids, Number.isFinite, "a finite score");
    const order = ids.map((_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
    step.budget.check();
    return order.map((i) => withScore(input[i] as (typeof input)[number], scores[i] as number));
  },
};
