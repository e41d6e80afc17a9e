import { neighboursOf } from "../../serving/serving-index";
import type { FeedState } from "../types";
import { EMPTY_RESULT, ScoreBoard, type CandidateSource, type SourceResult } from "./source";

const MEDIA_PER_AUTHOR = 5;
const USERS_PER_SEED = 50;
const TWO_HOP_AUTHORS = 30;

/**
 * Graph exploration for sparse users, from the authors they follow or liked: one hop = those authors' recent
 * media; two hops = media of the authors that other engagers of those authors also engaged with. It starts
 * once the user has `coldStart.graphSeedsFrom` such authors.
 */
export const graphSource: CandidateSource = {
  name: "graph",
  forColdUsers: () => true,
  retrieve(state: FeedState, quota: number): SourceResult {
    const { user, config } = state.request;
    const { index } = state.ranker;
    const seeds = new Set<number>([...user.followedAuthors, ...user.context.activity.likedAuthors]);
    if (seeds.size < config.coldStart.graphSeedsFrom) return { ...EMPTY_RESULT, note: `${seeds.size} followed or liked authors, graph starts at ${config.coldStart.graphSeedsFrom}` };
    const board = new ScoreBoard();
    const twoHop = new Map<number, number>();
    for (const seed of seeds) {
      neighboursOf(index.authorMedia, seed).subarray(0, MEDIA_PER_AUTHOR).forEach((item, i) => board.add(item, 2 / (1 + i), "max"));
      const engagers = neighboursOf(index.authorUsers, seed);
      for (const other of engagers.subarray(Math.max(0, engagers.length - USERS_PER_SEED))) {
        for (const author of neighboursOf(index.userAuthors, other)) if (!seeds.has(author)) twoHop.set(author, (twoHop.get(author) ?? 0) + 1);
      }
    }
    const hops = [...twoHop.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, TWO_HOP_AUTHORS);
    const strongest = hops[0]?.[1] ?? 1;
    for (const [author, count] of hops) {
      neighboursOf(index.authorMedia, author).subarray(0, MEDIA_PER_AUTHOR).forEach((item, i) => board.add(item, count / strongest / (1 + i), "max"));
    }
    return board.best(quota);
  },
};
