import type { TrainingData } from "../../data/dataset";
import type { Neighbours } from "../../serving/assets";
import { addAt } from "../../util/typed-arrays";
import { topK } from "../../util/top-k";
import type { RankedItems, RecommendRequest, Recommender } from "../types";
import type { DecayedPopularity } from "./popularity";

export interface CooccurrenceOptions {
  /** Neighbours kept per item. */
  readonly neighbours?: number;
  /** A user's most recent clicks used both to count pairs and to score. */
  readonly historyLength?: number;
}

/**
 * Item-to-item co-occurrence (item-kNN) over users' click histories: sim(i, j) = co-clicks / sqrt(clicks_i · clicks_j),
 * the top neighbours of the user's recent clicks summed, then back-filled with decayed popularity.
 */
export class CooccurrenceRecommender implements Recommender {
  readonly name = "cooccurrence";
  private readonly neighbours: Neighbours;
  private readonly histories: Map<number, number[]>;

  constructor(train: TrainingData, private readonly popularity: DecayedPopularity, options: CooccurrenceOptions = {}) {
    this.histories = clickHistories(train, options.historyLength ?? 50);
    this.neighbours = buildCooccurrenceNeighbours(this.histories, train.items.ids.size, options.neighbours ?? 100);
  }

  recommend(request: RecommendRequest): RankedItems {
    const history = this.histories.get(request.user) ?? [];
    const scores = new Map<number, number>();
    const { offsets, items: neighbourItems, scores: neighbourScores } = this.neighbours;
    for (const seed of history) {
      for (let n = offsets[seed] as number; n < (offsets[seed + 1] as number); n++) {
        const item = neighbourItems[n] as number;
        scores.set(item, (scores.get(item) ?? 0) + (neighbourScores[n] as number));
      }
    }
    const scored = Int32Array.from(scores.keys());
    const personal = topK(Float64Array.from(scored, (item) => scores.get(item) as number), request.count);
    const items: number[] = Array.from(personal, (i) => scored[i] as number);
    const itemScores: number[] = Array.from(personal, (i) => scores.get(scored[i] as number) as number);
    const chosen = new Set(items);
    // Back-fill below every personal score: popularity only orders what co-occurrence could not reach.
    for (const item of this.popularity.order) {
      if (items.length >= request.count) break;
      if (chosen.has(item)) continue;
      items.push(item);
      itemScores.push(-1 / (1 + (this.popularity.scores[item] as number)));
    }
    return { items: Int32Array.from(items), scores: Float32Array.from(itemScores) };
  }
}

/**
 * Item-to-item neighbours from co-occurrence in histories: sim(i, j) = co-occurrences / sqrt(n_i · n_j), the
 * best `neighbours` per item. Shared by this baseline and the bundle's co-occurrence source.
 */
export function buildCooccurrenceNeighbours(histories: ReadonlyMap<number, readonly number[]>, itemCount: number, neighbours: number): Neighbours {
  const counts = new Float64Array(itemCount);
  const pairs = new Map<number, Map<number, number>>();
  for (const history of histories.values()) {
    for (const a of history) {
      addAt(counts, a);
      let row = pairs.get(a);
      if (!row) pairs.set(a, (row = new Map()));
      for (const b of history) if (b !== a) row.set(b, (row.get(b) ?? 0) + 1);
    }
  }
  const offsets = new Int32Array(itemCount + 1);
  const items: number[] = [];
  const scores: number[] = [];
  for (let a = 0; a < itemCount; a++) {
    const row = pairs.get(a);
    if (row) {
      const candidates = [...row.entries()].map(([b, count]) => ({ b, sim: count / Math.sqrt((counts[a] as number) * (counts[b] as number)) }));
      candidates.sort((x, y) => y.sim - x.sim || x.b - y.b);
      for (const { b, sim } of candidates.slice(0, neighbours)) {
        items.push(b);
        scores.push(sim);
      }
    }
    offsets[a + 1] = items.length;
  }
  return { offsets, items: Int32Array.from(items), scores: Float32Array.from(scores) };
}

/** Each user's distinct clicked items in the training window, most recent last, at most `length` of them. */
export function clickHistories(train: TrainingData, length: number): Map<number, number[]> {
  const clicks = train.events.labels.click;
  if (!clicks) throw new Error('co-occurrence needs the "click" label');
  const histories = new Map<number, number[]>();
  for (let i = 0; i < train.events.size; i++) {
    if (!clicks[i]) continue;
    const user = train.events.user[i] as number;
    const item = train.events.item[i] as number;
    let history = histories.get(user);
    if (!history) histories.set(user, (history = []));
    const existing = history.indexOf(item);
    if (existing !== -1) history.splice(existing, 1);
    history.push(item);
    if (history.length > length) history.shift();
  }
  return histories;
}
