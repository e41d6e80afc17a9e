import type { TrainingData } from "../../data/dataset";
import type { Label } from "../../data/labels";
import { addAt } from "../../util/typed-arrays";
import type { LabelScores, PairBatch, PairScorer } from "../types";

/**
 * Each item's rate of each label over its training impressions, smoothed toward the global rate
 * with `priorImpressions` pseudo-impressions so items seen a few times are not ranked by noise.
 */
export class ItemRateScorer implements PairScorer {
  readonly name = "item_rate";
  readonly probabilities = true;
  private readonly rates = new Map<Label, Float32Array>();

  constructor(train: TrainingData, options: { priorImpressions?: number } = {}) {
    const prior = options.priorImpressions ?? 20;
    const itemCount = train.items.ids.size;
    const impressions = new Float64Array(itemCount);
    for (let i = 0; i < train.events.size; i++) addAt(impressions, train.events.item[i] as number);
    for (const label of train.labels) {
      const column = train.events.labels[label];
      if (!column) continue;
      const positives = new Float64Array(itemCount);
      let total = 0;
      for (let i = 0; i < train.events.size; i++) {
        if (!column[i]) continue;
        addAt(positives, train.events.item[i] as number);
        total++;
      }
      const globalRate = train.events.size === 0 ? 0 : total / train.events.size;
      this.rates.set(label, Float32Array.from(positives, (p, item) => (p + prior * globalRate) / ((impressions[item] as number) + prior)));
    }
  }

  score(batch: PairBatch): LabelScores {
    const result: Partial<Record<Label, Float32Array>> = {};
    for (const [label, rates] of this.rates) result[label] = Float32Array.from(batch.item, (item) => rates[item] as number);
    return result;
  }
}
