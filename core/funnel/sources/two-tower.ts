import { embedUser } from "../../serving/ranker-models";
import type { AnnIndex, AnnSearchResult } from "../../ann/ann-index";
import { toArray } from "../../util/typed-arrays";
import type { ServingConfig } from "../config";
import type { FeedState } from "../types";
import { EMPTY_RESULT, type CandidateSource, type SourceResult } from "./source";

/**
 * The retrieval two-tower: the user tower on the freshest features, then the USearch wasm index — an exact scan
 * while the catalogue is small next to the quota (`exactSearchMaxItemsPerResult`), else the HNSW walk. The tower
 * reads the user's profile features too, so a cold user the bundle has features for still gets it.
 */
export const twoTowerSource: CandidateSource = {
  name: "two_tower",
  forColdUsers: (user) => user.context.hasFeatures,
  async retrieve(state: FeedState, quota: number): Promise<SourceResult> {
    const { models, assets } = state.ranker;
    const embedding = await retrievalEmbedding(state);
    if (!embedding || !models.retrievalIndex) return { ...EMPTY_RESULT, note: "retrieval model unavailable" };
    const found = searchTwoTower(models.retrievalIndex, embedding, quota, state.request.config.retrieval);
    const scores = new Array<number>(found.distances.length);
    for (let i = 0; i < scores.length; i++) scores[i] = 1 - (found.distances[i] as number);
    return { items: toArray(found.keys), scores };
  },
};

/**
 * The two-tower source's index search for a user embedding: the best `quota` items, by an exact scan while the
 * index holds at most `exactSearchMaxItemsPerResult` items per result, else by the graph walk.
 */
export function searchTwoTower(index: AnnIndex, embedding: Float32Array, quota: number, retrieval: Pick<ServingConfig["retrieval"], "exactSearchMaxItemsPerResult">): AnnSearchResult {
  const size = index.size;
  const wanted = Math.min(quota, size);
  return index.search(embedding, wanted, { exact: size <= retrieval.exactSearchMaxItemsPerResult * wanted });
}

/** The request's retrieval user embedding, computed on first use and shared by the stages (undefined without the model). */
export function retrievalEmbedding(state: FeedState): Promise<Float32Array | undefined> {
  state.retrievalEmbedding ??= (async () => {
    const tower = state.ranker.models.retrievalUserTower;
    return tower ? embedUser(tower, state.ranker.assets, state.request.user.context) : undefined;
  })();
  return state.retrievalEmbedding;
}
