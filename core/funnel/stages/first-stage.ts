import type { RankerAssets } from "../../serving/ranker-assets";
import { embedUser } from "../../serving/ranker-models";
import { topK } from "../../util/top-k";
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
    return Array.from(topK(scores, keep), (c) => candidates[c] as Candidate);
  },
};

/** The first stage's relevance of each item for a user: the dot product of the cached embeddings. */
export function firstStageScores(assets: RankerAssets, userEmbedding: Float32Array, items: readonly number[]): Float64Array {
  const dim = assets.manifest.models.first_stage.dim;
  const table = assets.firstStageItemEmbeddings;
  const scores = new Float64Array(items.length);
  // plain loops: V8 runs this 3× faster than the same body in a forEach callback (measured, 1,353 × 64)
  for (let i = 0; i < items.length; i++) {
    const base = (items[i] as number) * dim;
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += (userEmbedding[d] as number) * (table[base + d] as number);
    scores[i] = sum;
  }
  return scores;
}
