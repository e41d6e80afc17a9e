import type { BundleTables } from "../../serving/bundle-tables";
import { embedUser } from "../../serving/bundle-models";
import { topK } from "../../util/top-k";
import { gather, rowDots } from "../../util/typed-arrays";
import type { Candidate } from "../types";
import { candidateLogPriors, explorationTail } from "./prior";
import { byRetrievalScore } from "./retrieval";
import type { FeedState, Stage } from "../feed-state";

/**
 * The distilled first stage: one user-tower run, then a dot product with every candidate's cached item embedding,
 * which estimates the log of the MTML's expected value; the value model's log prior (exact and cheap) is added, so
 * the sum estimates the second stage's log score and the best `firstStage.keep` go on. Without the first-stage
 * model the retrieval order decides.
 */
export const firstStage: Stage = {
  name: "first_stage",
  async run(state: FeedState, candidates: Candidate[]): Promise<Candidate[]> {
    const keep = state.request.config.firstStage.keep;
    const { tables, models } = state.bundle;
    if (!models.firstStageUserTower) {
      state.degraded.push("first-stage model unavailable: candidates cut by retrieval score");
      return byRetrievalScore(candidates).slice(0, keep);
    }
    let user: Float32Array;
    try {
      user = await embedUser(models.firstStageUserTower, tables, state.request.user.context);
    } catch (error) {
      // a failed run (a wasm trap) costs this request the first stage, as a missing model would
      state.degraded.push(`first-stage model failed: ${(error as Error).message}: candidates cut by retrieval score`);
      return byRetrievalScore(candidates).slice(0, keep);
    }
    await candidateLogPriors(state, candidates);
    const estimates = firstStageScores(tables, user, candidates.map((candidate) => candidate.item));
    const scores = new Float64Array(candidates.length);
    for (let c = 0; c < candidates.length; c++) {
      const candidate = candidates[c] as Candidate;
      scores[c] = (estimates[c] as number) + (candidate.logPrior ?? 0);
      candidate.firstStageScore = scores[c] as number;
    }
    const tail = explorationTail(state.request.config, state.request.count);
    if (!tail) return gather(candidates, topK(scores, keep));
    const tailScores = Float64Array.from(candidates, (candidate, c) => (estimates[c] as number) + (candidate.tailLogPrior ?? candidate.logPrior ?? 0));
    return gather(candidates, keptWithTail(scores, keep, tailScores, state.request.count - tail.from));
  },
};

/**
 * The first stage's cut with an exploration tail: the best `keep` by the head's score, then the tail's best
 * `tailKeep` by its own score that are not already kept, as indices in that order.
 */
export function keptWithTail(scores: Float64Array, keep: number, tailScores: Float64Array, tailKeep: number): number[] {
  const kept = Array.from(topK(scores, keep));
  const chosen = new Set(kept);
  const most = kept.length + tailKeep;
  for (const index of topK(tailScores, Math.min(tailScores.length, keep + tailKeep))) {
    if (kept.length >= most) break;
    if (!chosen.has(index)) {
      chosen.add(index);
      kept.push(index);
    }
  }
  return kept;
}

/** The first stage's estimate of log EV for each item: the cached embeddings' dot product over the distillation temperature. */
export function firstStageScores(tables: BundleTables, userEmbedding: Float32Array, items: readonly number[]): Float64Array {
  const { dim, temperature } = tables.manifest.models.first_stage;
  const dots = rowDots(tables.firstStageItemEmbeddings, dim, userEmbedding, items);
  for (let i = 0; i < dots.length; i++) dots[i] = (dots[i] as number) / temperature;
  return dots;
}
