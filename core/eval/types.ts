import type { Dataset, EventTable } from "../data/dataset";
import type { Label } from "../data/labels";

/**
 * What a system may know when it is built: the static tables and the events of the training window only.
 * The test window's events are deliberately absent, so no system can peek at them.
 */
export interface TrainingData extends Omit<Dataset, "events"> {
  readonly events: EventTable;
  /** The end of the training window: the "now" of every offline request. */
  readonly endMs: number;
}

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
  score(batch: PairBatch): LabelScores | Promise<LabelScores>;
}
