import type { ServingConfig } from "../config";
import type { Candidate, FeedState, Stage } from "../types";
import { explorationTail } from "./prior";

/**
 * Final rules: downrank by integrity (score × integrity^k), then fill the page greedily by score while
 * keeping at most `maxPerAuthor` items per author and never two items of one author next to each other; from the
 * exploration tail's first position on, by the tail's score.
 * Every rule reports what it changed.
 */
export const rerankStage: Stage = {
  name: "rerank",
  run(state: FeedState, candidates: Candidate[]): Candidate[] {
    const { request, ranker, trace } = state;
    const { rerank } = request.config;
    const tail = explorationTail(request.config, request.count);
    const { page, moved, deferred, cappedOut, explored } = rerankPage(candidates, rerank, ranker.assets.items, request.count, tail?.from);
    trace.rules.push({ rule: "integrity_downrank", moved, details: { exponent: rerank.integrityDownrank } });
    trace.rules.push({ rule: "exploration_tail", moved: explored, details: { from: tail?.from ?? null, exposureExponent: tail?.exposureExponent ?? null } });
    trace.rules.push({ rule: "no_adjacent_same_author", moved: deferred, details: { enabled: rerank.noAdjacentSameAuthor } });
    trace.rules.push({ rule: "max_per_author", removed: cappedOut, details: { max: rerank.maxPerAuthor } });
    return page;
  },
};

/** The rerank rules on their own (the stage, and offline tuning's replay of it): the page, and what each rule changed. */
export function rerankPage(
  candidates: Candidate[],
  rerank: ServingConfig["rerank"],
  items: { readonly integrity: ArrayLike<number>; readonly author: ArrayLike<number> },
  count: number,
  tailFrom?: number,
): { page: Candidate[]; moved: number; deferred: number; cappedOut: number; explored: number } {
  const { integrity, author } = items;
  const downrank = (value: number, item: number) => rerank.integrityDownrank > 0 ? value * Math.pow(integrity[item] as number, rerank.integrityDownrank) : value;
  if (rerank.integrityDownrank > 0) {
    for (const candidate of candidates) candidate.score = downrank(candidate.value ?? candidate.score, candidate.item);
  }
  const byValue = [...candidates].sort((a, b) => (b.value ?? b.score) - (a.value ?? a.score) || a.item - b.item);
  const ranked = [...candidates].sort((a, b) => b.score - a.score || a.item - b.item);
  let moved = 0;
  ranked.forEach((candidate, i) => {
    if (byValue[i] !== candidate) moved++;
  });

  const page: Candidate[] = [];
  const perAuthor = new Map<number, number>();
  const remaining = [...ranked];
  let cappedOut = 0;
  let deferred = 0;
  let explored = 0;
  while (page.length < count && remaining.length > 0) {
    if (page.length === tailFrom) {
      // the exploration tail: what is left, in the order of the tail's score
      const tailScore = new Map(remaining.map((candidate) => [candidate, downrank(candidate.tailValue ?? candidate.value ?? candidate.score, candidate.item)]));
      const before = [...remaining];
      remaining.sort((a, b) => (tailScore.get(b) as number) - (tailScore.get(a) as number) || a.item - b.item);
      explored = remaining.slice(0, count - page.length).filter((candidate, i) => before[i] !== candidate).length;
    }
    const previousAuthor = page.length > 0 ? author[(page[page.length - 1] as Candidate).item] : undefined;
    let pick = -1;
    for (let i = 0; i < remaining.length; i++) {
      const candidateAuthor = author[(remaining[i] as Candidate).item] as number;
      if ((perAuthor.get(candidateAuthor) ?? 0) >= rerank.maxPerAuthor) continue;
      if (rerank.noAdjacentSameAuthor && candidateAuthor === previousAuthor) continue;
      pick = i;
      break;
    }
    if (pick === -1) break;
    if (pick > 0) deferred++;
    const [chosen] = remaining.splice(pick, 1) as [Candidate];
    const chosenAuthor = author[chosen.item] as number;
    perAuthor.set(chosenAuthor, (perAuthor.get(chosenAuthor) ?? 0) + 1);
    page.push(chosen);
  }
  for (const candidate of remaining) if ((perAuthor.get(author[candidate.item] as number) ?? 0) >= rerank.maxPerAuthor) cappedOut++;
  return { page, moved, deferred, cappedOut, explored };
}
