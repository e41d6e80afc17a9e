import type { FeedState } from "../types";
import { toArray } from "../../util/typed-arrays";
import { ScoreBoard, type CandidateSource, type SourceResult } from "./source";

/** Pre-generated popular media (decayed popularity at the end of the bundle's window). */
export const popularSource: CandidateSource = {
  name: "popular",
  forColdUsers: () => true,
  retrieve(state: FeedState, quota: number): SourceResult {
    const { items, scores } = state.ranker.assets.popular;
    const n = Math.min(quota, items.length);
    return { items: toArray(items, n), scores: toArray(scores, n) };
  },
};

/**
 * Trending: real-time engagement counts with time decay (from the Trending Durable Object), over the
 * bundle's own trending list as of its end; each list is normalised by its top score before mixing.
 */
export const trendingSource: CandidateSource = {
  name: "trending",
  forColdUsers: () => true,
  retrieve(state: FeedState, quota: number): SourceResult {
    const board = new ScoreBoard();
    const lists = [state.ranker.index.trending, ...(state.request.trending ? [state.request.trending] : [])];
    for (const list of lists) {
      const top = list.scores[0] ?? 0;
      if (!(top > 0)) continue;
      list.items.forEach((item, i) => board.add(item, (list.scores[i] as number) / top));
    }
    return board.best(quota);
  },
};
