import type { Label } from "../data/labels";

export interface RecommendRequest {
  readonly user: number;
  readonly atMs: number;
  readonly count: number;
}

/** Item rows, best first, with their scores (same length). */
export interface RankedItems {
  readonly items: Int32Array;
  readonly scores: Float32Array;
}

/** Ranks the catalogue for a user: judged by the full-catalogue protocol. */
export interface Recommender {
  readonly name: string;
  recommend(request: RecommendRequest): RankedItems | Promise<RankedItems>;
}

/** A batch of (user, item, surface, time) pairs in columns. */
export interface PairBatch {
  readonly size: number;
  readonly user: Int32Array;
  readonly item: Int32Array;
  readonly surface: Int32Array;
  readonly atMs: Float64Array;
}

/** Per-label probabilities (or any monotone scores) for each pair of a batch. */
export type LabelScores = Readonly<Partial<Record<Label, Float32Array>>>;

/** Scores given pairs: judged by the impression protocol. A scorer omits labels it does not predict. */
export interface PairScorer {
  readonly name: string;
  /** The scores are probabilities: the impression protocol also measures how well they are calibrated. */
  readonly probabilities?: boolean;
  score(batch: PairBatch): LabelScores | Promise<LabelScores>;
}
