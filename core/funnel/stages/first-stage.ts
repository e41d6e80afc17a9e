import type { RankerAssets } from "../../serving/ranker-assets";
import { embedUser } from "../../serving/ranker-models";
import { topK } from "../../util/top-k";
import { gather, rowDots } from "../../util/typed-arrays";
import type { Candidate, FeedState, Stage } from "../types";
import { byRetrievalScore } from "./retrieval";

/**
 * The distilled first stage: one user-tower run, then a dot product with every candidate's cached item
 * embedding; the best `firstStage.keep` go on. Without the first-stage model the retrieval order decides.
 */
export const firstStage: Stage = {
  name: "first_stage",
  async run(state: FeedState, candidates: Candidate[]): Promise<Candidate[]> {
    const keep = state.request.config.firstStage.keep;
    const { assets, models } = state.ranker;
    if (!models.firstStageUserTower) {
      state.degraded.push("first-stage model unavailable: candidates cut by retrieval score");
      return byRetrievalScore(candidates).slice(0, keep);
    }
    const user = await embedUser(models.firstStageUserTower, assets, state.request.user.context);
    const scores = firstStageScores(assets, user, candidates.map((candidate) => candidate.item));
    candidates.forEach((candidate, c) => (candidate.firstStageScore = scores[c] as number));
    return gather(candidates, topK(scores, keep));
  },
};

/** The first stage's relevance of each item for a user: the dot product of the cached embeddings. */
export function firstStageScores(assets: RankerAssets, userEmbedding: Float32Array, items: readonly number[]): Float64Array {
  return rowDots(assets.firstStageItemEmbeddings, assets.manifest.models.first_stage.dim, userEmbedding, items);
}
