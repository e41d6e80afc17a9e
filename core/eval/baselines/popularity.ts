import type { EventTable, TrainingData } from "../../data/dataset";
import { LABELS, type Label } from "../../data/labels";
import { topK } from "../../util/top-k";
import type { LabelScores, PairBatch, PairScorer, RankedItems, RecommendRequest, Recommender } from "../types";

export const DAY_MS = 86_400_000;

/**
 * Positive events of `label` per item, each weighted by 0.5^(age / half-life) at `nowMs`.
 * Events after `nowMs` are ignored, so the same code serves any point in time.
 */
export function decayedCounts(events: EventTable, itemCount: number, label: Label, nowMs: number, halfLifeMs: number): Float64Array {
  const column = events.labels[label];
  if (!column) throw new Error(`decayed popularity needs the "${label}" label, which this data set does not record`);
  const counts = new Float64Array(itemCount);
  const rate = Math.LN2 / halfLifeMs;
  for (let i = 0; i < events.size; i++) {
    const ts = events.ts[i] as number;
    if (!column[i] || ts > nowMs) continue;
    const item = events.item[i] as number;
    counts[item] = (counts[item] as number) + Math.exp(-rate * (nowMs - ts));
  }
  return counts;
}

/** Decayed popularity of clicks (half-life one day): the same list for everyone, and the same score for every label. */
export class DecayedPopularity implements Recommender, PairScorer {
  readonly name = "popularity";
  readonly scores: Float64Array;
  private readonly ranking: Int32Array;

  constructor(train: TrainingData, options: { label?: Label; halfLifeMs?: number } = {}) {
    this.scores = decayedCounts(train.events, train.items.ids.size, options.label ?? "click", train.endMs, options.halfLifeMs ?? DAY_MS);
    this.ranking = topK(this.scores, this.scores.length);
  }

  /** Item rows from most to least popular. */
  get order(): Int32Array {
    return this.ranking;
  }

  recommend(request: RecommendRequest): RankedItems {
    const items = this.ranking.slice(0, request.count);
    return { items, scores: Float32Array.from(items, (item) => this.scores[item] as number) };
  }

  score(batch: PairBatch): LabelScores {
    const popularity = Float32Array.from(batch.item, (item) => this.scores[item] as number);
    return Object.fromEntries(LABELS.map((label) => [label, popularity]));
  }
}
