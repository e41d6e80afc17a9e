import type { FeedState } from "../types";
import { EMPTY_RESULT, ScoreBoard, hasHistory, type CandidateSource, type SourceResult } from "./source";

/**
 * Neighbours, in the retrieval embedding space, of the items the user engaged with most recently: each seed
 * searches the ANN index with its own item embedding. Seeds must pass the integrity filter, so one bad
 * engagement does not pull its look-alikes in. Newer seeds weigh more.
 */
export const historySource: CandidateSource = {
  name: "history",
  forColdUsers: () => false,
  retrieve(state: FeedState, quota: number): SourceResult {
    const { assets, models } = state.ranker;
    const user = state.request.user;
    if (!hasHistory(user)) return EMPTY_RESULT;
    if (!models.retrievalIndex) return { ...EMPTY_RESULT, note: "ANN index unavailable" };
    const { retrieval } = state.request.config;
    const seeds = user.context.activity
      .recentItems(retrieval.historySeeds * 2)
      .filter((item) => (assets.items.integrity[item] as number) >= retrieval.historySeedMinIntegrity)
      .slice(0, retrieval.historySeeds);
    if (seeds.length === 0) return { ...EMPTY_RESULT, note: "no seed passed the integrity filter" };
    const dim = assets.manifest.models.retrieval.dim;
    const perSeed = Math.min(assets.items.ids.size, Math.ceil(quota / seeds.length) + 1);
    const board = new ScoreBoard();
    seeds.forEach((seed, rank) => {
      const query = assets.retrievalItemEmbeddings.subarray(seed * dim, (seed + 1) * dim);
      const found = models.retrievalIndex?.search(query, perSeed);
      if (!found) return;
      const recency = 1 / (1 + 0.1 * rank);
      for (let i = 0; i < found.keys.length; i++) {
        const item = found.keys[i] as number;
        if (item !== seed) board.add(item, recency * (1 - (found.distances[i] as number)), "max");
      }
    });
    return board.best(quota);
  },
};
