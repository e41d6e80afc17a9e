import { checkAligned, whenReady, type OperatorDefinition } from "../operator";

/** Floating-point slack so that integrity 0.8 passes a 0.2 threshold although 1 − 0.8 is 0.19999999999999996. */
const THRESHOLD_SLACK = 1e-9;

export const filter: OperatorDefinition = {
  name: "filter",
  summary: "drops non-recommendable, already-seen and followed authors' media",
  inputs: ["media"],
  output: "media",
  params: [
    {
      name: "non_recommendable_model_threshold",
      type: { kind: "decimal", min: 0, max: 1 },
      doc: "drop items whose non-recommendable probability (1 − integrity) is above this (absent: no integrity filter)",
    },
    { name: "min_integrity", type: { kind: "decimal", min: 0, max: 1 }, doc: "drop items whose integrity score is below this (absent: no such filter)" },
    { name: "exclude_seen", type: { kind: "boolean" }, default: true, doc: "drop items already shown to the user" },
    { name: "exclude_followed_authors", type: { kind: "boolean" }, default: true, doc: "drop items by accounts the user follows (suggestions are unconnected)" },
  ],
  size: { kind: "same" },
  ports: ["integrityScores", "seenMedia", "followedAuthors", "authorsOf"],
  async run(input, step) {
    if (input.length === 0) return [];
    const threshold = step.args.optionalDecimal("non_recommendable_model_threshold");
    const minIntegrity = step.args.optionalDecimal("min_integrity");
    const ids = input.map((entry) => entry.id);
    const [integrity, seen, followed, authors] = await Promise.all([
      threshold === undefined && minIntegrity === undefined
        ? undefined
        : whenReady(step.call("integrityScores", () => step.stores.integrityScores(ids)), (scores) =>
            checkAligned(step, "integrityScores", scores, ids, (score) => score >= 0 && score <= 1, "an integrity score in [0, 1]"),
          ),
      step.args.boolean("exclude_seen") ? step.call("seenMedia", () => step.stores.seenMedia(step.userId)) : undefined,
      step.args.boolean("exclude_followed_authors") ? step.call("followedAuthors", () => step.stores.followedAuthors(step.userId)) : undefined,
      step.args.boolean("exclude_followed_authors")
        ? whenReady(step.call("authorsOf", () => step.stores.authorsOf(ids)), (found) => checkAligned(step, "authorsOf", found, ids, Number.isSafeInteger, "an author id (safe integer)"))
        : undefined,
    ]);
    if (seen !== undefined && typeof seen?.has !== "function") throw step.contractError("seenMedia", "did not return a set");
    if (followed !== undefined && typeof followed?.has !== "function") throw step.contractError("followedAuthors", "did not return a set");
    return input.filter((entry, i) => {
      step.budget.tick();
      if (integrity && threshold !== undefined && 1 - (integrity[i] as number) > threshold + THRESHOLD_SLACK) return false;
      if (integrity && minIntegrity !== undefined && (integrity[i] as number) < minIntegrity) return false;
      if (seen?.has(entry.id)) return false;
      if (followed && authors && followed.has(authors[i] as number)) return false;
      return true;
    });
  },
};
