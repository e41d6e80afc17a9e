import { embedUser } from "../../serving/ranker-models";
import type { FeedState } from "../types";
import { EMPTY_RESULT, type CandidateSource, type SourceResult } from "./source";

/**
 * The retrieval two-tower: the user tower on the freshest features, then the USearch wasm index. The tower
 * reads the user's profile features too, so a cold user the bundle has features for still gets it.
 */
export const twoTowerSource: CandidateSource = {
  name: "two_tower",
  forColdUsers: (user) => user.context.hasFeatures,
  async retrieve(state: FeedState, quota: number): Promise<SourceResult> {
    const { models, assets } = state.ranker;
    if (!models.retrievalUserTower || !models.retrievalIndex) return { ...EMPTY_RESULT, note: "retrieval model unavailable" };
    const embedding = await embedUser(models.retrievalUserTower, assets, state.request.user.context);
    const found = models.retrievalIndex.search(embedding, Math.min(quota, assets.items.ids.size));
    return { items: Array.from(found.keys), scores: Array.from(found.distances, (distance) => 1 - distance) };
  },
};
