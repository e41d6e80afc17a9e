import type { Label } from "../../data/labels";
import { createRandom } from "../../util/random";
import type { LabelScores, PairBatch, PairScorer } from "../types";

/** Uniform random scores: the floor every scorer must clear. Seeded, so runs repeat. */
export class RandomScorer implements PairScorer {
  readonly name = "random";
  private readonly next: () => number;

  constructor(private readonly labels: readonly Label[], seed = 1) {
    this.next = createRandom(seed);
  }

  score(batch: PairBatch): LabelScores {
    return Object.fromEntries(this.labels.map((label) => [label, Float32Array.from({ length: batch.size }, () => this.next())]));
  }
}
