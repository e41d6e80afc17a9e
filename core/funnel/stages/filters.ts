import type { Candidate, FeedRequest } from "../types";
import type { FeedState, Stage } from "../feed-state";

/** The hard rules before ranking, in the order they are checked. */
export const FILTER_RULES = ["exclude_requested", "drop_seen", "min_integrity"] as const;
export type FilterRule = (typeof FILTER_RULES)[number];

/** The first hard rule that removes `item` for this request, if any. */
export function filterRuleOf(request: Pick<FeedRequest, "exclude" | "user" | "config">, integrity: ArrayLike<number>, item: number): FilterRule | undefined {
  const { rerank } = request.config;
  if (request.exclude.has(item)) return "exclude_requested";
  if (rerank.dropSeen && request.user.seen.has(item)) return "drop_seen";
  if ((integrity[item] as number) < rerank.minIntegrity) return "min_integrity";
  return undefined;
}

/**
 * Hard rules applied before ranking, so the ranking budget is spent on items that can be shown: the caller's
 * exclusions, items the user has seen, and items under the integrity threshold. Each rule reports what it removed.
 */
export const filterStage: Stage = {
  name: "filters",
  run(state: FeedState, candidates: Candidate[]): Candidate[] {
    const { request, bundle, trace } = state;
    const { rerank } = request.config;
    const integrity = bundle.tables.items.integrity;
    const removed: Record<FilterRule, number> = { exclude_requested: 0, drop_seen: 0, min_integrity: 0 };
    const kept = candidates.filter((candidate) => {
      const rule = filterRuleOf(request, integrity, candidate.item);
      if (rule === undefined) return true;
      removed[rule]++;
      return false;
    });
    trace.rules.push({ rule: "exclude_requested", removed: removed.exclude_requested });
    trace.rules.push({ rule: "drop_seen", removed: removed.drop_seen, details: { enabled: rerank.dropSeen } });
    trace.rules.push({ rule: "min_integrity", removed: removed.min_integrity, details: { threshold: rerank.minIntegrity } });
    return kept;
  },
};
