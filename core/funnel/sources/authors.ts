import { AUTHOR_SLOTS } from "../../features/user-activity";
import { neighboursOf } from "../../serving/serving-index";
import type { FeedState } from "../types";
import { EMPTY_RESULT, ScoreBoard, type CandidateSource, type SourceResult } from "./source";

const MEDIA_PER_AUTHOR = 5;

/**
 * Recent media of authors the user follows or engaged with: followed authors first, then by how much the
 * user engaged (clicks, long views, likes); within an author, newest media first.
 */
export const authorsSource: CandidateSource = {
  name: "authors",
  forColdUsers: () => false,
  retrieve(state: FeedState, quota: number): SourceResult {
    const user = state.request.user;
    const affinity = new Map<number, number>();
    for (const author of user.followedAuthors) affinity.set(author, 10);
    for (const [author, stats] of user.context.activity.authors) {
      const engaged = (stats[AUTHOR_SLOTS.clicks] as number) + (stats[AUTHOR_SLOTS.longViews] as number) + 2 * (stats[AUTHOR_SLOTS.likes] as number);
      if (engaged > 0) affinity.set(author, (affinity.get(author) ?? 0) + engaged);
    }
    if (affinity.size === 0) return EMPTY_RESULT;
    const board = new ScoreBoard();
    for (const [author, weight] of affinity) {
      neighboursOf(state.ranker.index.authorMedia, author).subarray(0, MEDIA_PER_AUTHOR).forEach((item, i) => board.add(item, weight / (1 + i), "max"));
    }
    return board.best(quota);
  },
};
