import type { Candidate, FeedState, Stage } from "../types";

/**
 * Final rules: downrank by integrity (score × integrity^k), then fill the page greedily by score while
 * keeping at most `maxPerAuthor` items per author and never two items of one author next to each other.
 * Every rule reports what it changed.
 */
export const rerankStage: Stage = {
  name: "rerank",
  run(state: FeedState, candidates: Candidate[]): Candidate[] {
    const { request, ranker, trace } = state;
    const { rerank } = request.config;
    const { integrity, author } = ranker.assets.items;

    if (rerank.integrityDownrank > 0) {
      for (const candidate of candidates) candidate.score = (candidate.value ?? candidate.score) * Math.pow(integrity[candidate.item] as number, rerank.integrityDownrank);
    }
    const byValue = [...candidates].sort((a, b) => (b.value ?? b.score) - (a.value ?? a.score) || a.item - b.item);
    const ranked = [...candidates].sort((a, b) => b.score - a.score || a.item - b.item);
    let moved = 0;
    ranked.forEach((candidate, i) => {
      if (byValue[i] !== candidate) moved++;
    });
    trace.rules.push({ rule: "integrity_downrank", moved, details: { exponent: rerank.integrityDownrank } });

    const page: Candidate[] = [];
    const perAuthor = new Map<number, number>();
    const remaining = [...ranked];
    let cappedOut = 0;
    let deferred = 0;
    while (page.length < request.count && remaining.length > 0) {
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
    trace.rules.push({ rule: "no_adjacent_same_author", moved: deferred, details: { enabled: rerank.noAdjacentSameAuthor } });
    trace.rules.push({ rule: "max_per_author", removed: cappedOut, details: { max: rerank.maxPerAuthor } });
    return page;
  },
};
