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
    const dim = assets.manifest.models.first_stage.dim;
    const table = assets.firstStageItemEmbeddings;
    const scores = new Float64Array(candidates.length);
    candidates.forEach((candidate, c) => {
      const base = candidate.item * dim;
      let sum = 0;
      for (let d = 0; d < dim; d++) sum += (user[d] as number) * (table[base + d] as number);
      scores[c] = candidate.firstStageScore = sum;
    });
    return Array.from(topK(scores, keep), (c) => candidates[c] as Candidate);
  },
};
