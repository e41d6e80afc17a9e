import type { OperatorDefinition } from "../operator";
import type { StreamEntry } from "../stream";

/**
 * Round robin over groups of equal attribute value: the first item of every group (groups in the
 * order their first item appears, i.e. by their best item after `rank`), then every group's second,
 * and so on. Within a group the stream order is kept. `max_per_value` caps each group.
 */
export const diversifyBy: OperatorDefinition = {
  name: "diversify_by",
  summary: "interleaves items round robin by an attribute bound with let (e.g. seed_id)",
  inputs: ["media"],
  output: "media",
  params: [
    { name: "attribute", type: { kind: "attribute" }, required: true, doc: "the attribute to group by; bound earlier by let" },
    { name: "method", type: { kind: "enum", values: ["round_robin"] }, default: "round_robin", doc: "how groups are interleaved" },
    { name: "max_per_value", type: { kind: "integer", min: 1, max: 100_000 }, doc: "keep at most this many items per group (absent: all)" },
  ],
  size: { kind: "same" },
  ports: [],
  async run(input, step) {
    const attribute = step.args.text("attribute");
    const cap = step.args.has("max_per_value") ? step.args.integer("max_per_value") : Infinity;
    const groups = new Map<string, StreamEntry[]>();
    for (const entry of input) {
      step.budget.tick();
      const value = entry.attributes[attribute];
      // The type goes into the key so that 1 and "1" stay apart.
      const key = `${typeof value}:${String(value)}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = []));
      if (group.length < cap) group.push(entry);
    }
    const output: StreamEntry[] = [];
    const lists = [...groups.values()];
    for (let round = 0; output.length < input.length; round++) {
      let added = 0;
      for (const group of lists) {
        const entry = group[round];
        if (entry) {
          output.push(entry);
          added++;
        }
      }
      step.budget.tick();
      if (added === 0) break;
    }
    return output;
  },
};
