import type { Candidate } from "../types";
import type { FeedState, Stage } from "../feed-state";

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
    let excluded = 0;
    let seen = 0;
    let lowIntegrity = 0;
    const kept = candidates.filter((candidate) => {
      if (request.exclude.has(candidate.item)) return void excluded++, false;
      if (rerank.dropSeen && request.user.seen.has(candidate.item)) return void seen++, false;
      if ((integrity[candidate.item] as number) < rerank.minIntegrity) return void lowIntegrity++, false;
      return true;
    });
    trace.rules.push({ rule: "exclude_requested", removed: excluded });
    trace.rules.push({ rule: "drop_seen", removed: seen, details: { enabled: rerank.dropSeen } });
    trace.rules.push({ rule: "min_integrity", removed: lowIntegrity, details: { threshold: rerank.minIntegrity } });
    return kept;
  },
};
