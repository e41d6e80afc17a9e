import type { FeedState } from "../types";
import { EMPTY_RESULT, ScoreBoard, hasHistory, type CandidateSource, type SourceResult } from "./source";

/** Items co-clicked with the user's recent engagements (the bundle's item-to-item co-occurrence lists). */
export const cooccurrenceSource: CandidateSource = {
  name: "cooccurrence",
  forColdUsers: () => false,
  retrieve(state: FeedState, quota: number): SourceResult {
    const user = state.request.user;
    if (!hasHistory(user)) return EMPTY_RESULT;
    const { offsets, items, scores } = state.ranker.assets.cooccurrence;
    const board = new ScoreBoard();
    for (const seed of user.context.activity.recentItems(state.request.config.retrieval.historySeeds)) {
      for (let n = offsets[seed] as number; n < (offsets[seed + 1] as number); n++) board.add(items[n] as number, scores[n] as number);
    }
    return board.best(quota);
  },
};
