import type { ServingConfig } from "../../config/serving";
import type { Candidate } from "../types";
import { AuthorWindow } from "../author-window";
import { explorationTail } from "./prior";
import type { FeedState, PassOverRule, Stage } from "../feed-state";

/**
 * Final rules: downrank by integrity (score × integrity^k), then fill the page greedily by score while
 * keeping at most `maxPerAuthor` items per author and never two items of one author next to each other; from the
 * exploration tail's first position on, by the tail's score. A later page of a session continues the earlier ones
 * (`precedingAuthors`): see AuthorWindow for what the author rules mean across a page boundary.
 * Every rule reports what it changed.
 */
export const rerankStage: Stage = {
  name: "rerank",
  run(state: FeedState, candidates: Candidate[]): Candidate[] {
    const { request, bundle, trace } = state;
    const { rerank } = request.config;
    const tail = explorationTail(request.config, request.count);
    const passedOver = state.candidateRecorder?.passedOver.bind(state.candidateRecorder);
    const { page, moved, deferred, cappedOut, explored } = rerankPage(candidates, rerank, bundle.tables.items, request.count, { tailFrom: tail?.from, passedOver, precedingAuthors: request.precedingAuthors });
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
  options: {
    /** The exploration tail's first position. */
    readonly tailFrom?: number | undefined;
    readonly passedOver?: ((candidate: Candidate, position: number, rule: PassOverRule) => void) | undefined;
    /** The session's earlier items' authors, oldest first. */
    readonly precedingAuthors?: readonly number[] | undefined;
  } = {},
): { page: Candidate[]; moved: number; deferred: number; cappedOut: number; explored: number } {
  const { tailFrom, passedOver, precedingAuthors } = options;
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

  let explored = 0;
  const beforePick = (position: number, left: Candidate[]) => {
    if (position !== tailFrom) return;
    // the exploration tail: what is left, in the order of the tail's score
    const tailScore = new Map(left.map((candidate) => [candidate, downrank(candidate.tailValue ?? candidate.value ?? candidate.score, candidate.item)]));
    const before = [...left];
    left.sort((a, b) => (tailScore.get(b) as number) - (tailScore.get(a) as number) || a.item - b.item);
    explored = left.slice(0, count - position).filter((candidate, i) => before[i] !== candidate).length;
  };
  const { page, remaining, perAuthor, deferred } = fillByAuthorRules(ranked, (candidate) => author[candidate.item] as number, rerank, count, { preceding: precedingAuthors, beforePick, passedOver });
  let cappedOut = 0;
  for (const candidate of remaining) if ((perAuthor.get(author[candidate.item] as number) ?? 0) >= rerank.maxPerAuthor) cappedOut++;
  return { page, moved, deferred, cappedOut, explored };
}

/**
 * The author rules on their own: fills a page of up to `count` from `ordered` (best first), each position taking the
 * first entry whose author is under `maxPerAuthor` in the window of `count` items the position closes and, with
 * `noAdjacentSameAuthor`, is not the previous entry's author (AuthorWindow; `preceding` are the session's earlier
 * items' authors, oldest first). The page ends early when nothing left qualifies. `beforePick` may reorder what is
 * left before a position is filled (the exploration tail); `passedOver` hears each entry a rule skips at a position
 * (an inspection). Also re-applied to pages served from elsewhere (a
 * precomputed feed with items dropped), so that they keep the rules too. `perAuthor` counts the authors of the last
 * `count` items as the page ends: what the cap held back at the end.
 */
export function fillByAuthorRules<T, Author>(
  ordered: readonly T[],
  authorOf: (entry: T) => Author,
  rules: Pick<ServingConfig["rerank"], "maxPerAuthor" | "noAdjacentSameAuthor">,
  count: number,
  options: {
    readonly preceding?: readonly Author[] | undefined;
    readonly beforePick?: ((position: number, remaining: T[]) => void) | undefined;
    readonly passedOver?: ((entry: T, position: number, rule: PassOverRule) => void) | undefined;
  } = {},
): { page: T[]; remaining: T[]; perAuthor: Map<Author, number>; deferred: number } {
  const preceding = options.preceding ?? [];
  const page: T[] = [];
  const window = new AuthorWindow(Math.max(1, count), rules.maxPerAuthor, preceding);
  const remaining = [...ordered];
  let deferred = 0;
  while (page.length < count && remaining.length > 0) {
    options.beforePick?.(page.length, remaining);
    const previousAuthor = window.previous;
    let pick = -1;
    for (let i = 0; i < remaining.length; i++) {
      const candidateAuthor = authorOf(remaining[i] as T);
      if (!window.allows(candidateAuthor)) {
        options.passedOver?.(remaining[i] as T, page.length, "max_per_author");
        continue;
      }
      if (rules.noAdjacentSameAuthor && candidateAuthor === previousAuthor) {
        options.passedOver?.(remaining[i] as T, page.length, "no_adjacent_same_author");
        continue;
      }
      pick = i;
      break;
    }
    if (pick === -1) break;
    if (pick > 0) deferred++;
    const [chosen] = remaining.splice(pick, 1) as [T];
    window.push(authorOf(chosen));
    page.push(chosen);
  }
  const perAuthor = new Map<Author, number>();
  for (const author of [...preceding, ...page.map(authorOf)].slice(-count)) perAuthor.set(author, (perAuthor.get(author) ?? 0) + 1);
  return { page, remaining, perAuthor, deferred };
}
