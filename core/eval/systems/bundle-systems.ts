import type { Dataset } from "../../data/dataset";
import { LABELS, type Label } from "../../data/labels";
import type { UserContext } from "../../features/context";
import { allocateMtmlInputs, writeMtmlRow } from "../../features/mtml-features";
import { topKOverlap } from "../../ranking/fidelity";
import { exploreScore, retrievalAffinity } from "../../ranking/value-model";
import { runMtml } from "../../serving/model-runs";
import type { RankerAssets } from "../../serving/ranker-assets";
import { embedUser, type RankerModels } from "../../serving/ranker-models";
import { createRandom } from "../../util/random";
import { topK } from "../../util/top-k";
import type { LabelScores, PairBatch, PairScorer, RankedItems, RecommendRequest, Recommender } from "../types";

/**
 * Row maps between an evaluation data set and a bundle: the same external ids may sit in different rows,
 * and an id the bundle never saw maps to -1 (an unknown user is cold; an unknown item cannot be scored).
 */
export class BundleRows {
  readonly userToBundle: Int32Array;
  readonly itemToBundle: Int32Array;
  readonly itemFromBundle: Int32Array;

  constructor(dataset: Pick<Dataset, "users" | "items">, readonly assets: RankerAssets) {
    this.userToBundle = Int32Array.from(dataset.users.ids.ids(), (id) => assets.users.ids.get(id) ?? -1);
    this.itemToBundle = Int32Array.from(dataset.items.ids.ids(), (id) => assets.items.ids.get(id) ?? -1);
    this.itemFromBundle = Int32Array.from(assets.items.ids.ids(), (id) => dataset.items.ids.get(id) ?? -1);
  }

  /** The user's context from the bundle alone (history up to its end): the offline "state at the end of training". */
  userContext(user: number, cache?: Map<number, UserContext>): UserContext {
    const cached = cache?.get(user);
    if (cached) return cached;
    const bundleRow = this.userToBundle[user] as number;
    const context = this.assets.userContext(bundleRow < 0 ? undefined : bundleRow);
    cache?.set(user, context);
    return context;
  }

  /** Bundle item rows → data set rows, dropping items the data set does not have. */
  toDataset(items: ArrayLike<number>, scores: ArrayLike<number>): RankedItems {
    const outItems: number[] = [];
    const outScores: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const row = this.itemFromBundle[items[i] as number] as number;
      if (row < 0) continue;
      outItems.push(row);
      outScores.push(scores[i] as number);
    }
    return { items: Int32Array.from(outItems), scores: Float32Array.from(outScores) };
  }
}

/** The second-stage MTML as a pair scorer: per-label probabilities from the served (quantized) ONNX model. */
export class MtmlPairScorer implements PairScorer {
  readonly name = "mtml";
  private readonly users = new Map<number, UserContext>();

  constructor(private readonly rows: BundleRows, private readonly models: RankerModels) {}

  async score(batch: PairBatch): Promise<LabelScores> {
    const { assets } = this.rows;
    const known: number[] = [];
    for (let i = 0; i < batch.size; i++) if ((this.rows.itemToBundle[batch.item[i] as number] as number) >= 0) known.push(i);
    const inputs = allocateMtmlInputs(assets.spec, known.length);
    const context = assets.featureContext();
    known.forEach((i, r) => {
      writeMtmlRow(context, this.rows.userContext(batch.user[i] as number, this.users), this.rows.itemToBundle[batch.item[i] as number] as number, batch.surface[i] as number, assets.asOfMs, inputs, r);
    });
    const probabilities = await runMtml(this.models.mtml, inputs);
    const result: Partial<Record<Label, Float32Array>> = {};
    LABELS.forEach((label, l) => {
      const column = new Float32Array(batch.size);
      known.forEach((i, r) => (column[i] = probabilities[r * LABELS.length + l] as number));
      result[label] = column;
    });
    return result;
  }
}

/** The retrieval two-tower alone: the user tower, then the ANN index over the whole catalogue. */
export class TwoTowerRecommender implements Recommender {
  readonly name = "two_tower";
  constructor(private readonly rows: BundleRows, private readonly models: RankerModels) {}

  async recommend(request: RecommendRequest): Promise<RankedItems> {
    const embedding = await embedUser(this.models.retrievalUserTower, this.rows.assets, this.rows.userContext(request.user));
    const found = this.models.retrievalIndex.search(embedding, Math.min(request.count, this.rows.assets.items.ids.size));
    return this.rows.toDataset(found.keys, Float32Array.from(found.distances, (distance) => 1 - distance));
  }
}

/** The first stage alone over the whole catalogue: dot products with the cached first-stage item embeddings. */
export class FirstStageRecommender implements Recommender {
  readonly name = "first_stage";
  constructor(private readonly rows: BundleRows, private readonly models: RankerModels) {}

  async recommend(request: RecommendRequest): Promise<RankedItems> {
    const scores = await firstStageScores(this.rows, this.models, request.user);
    const items = topK(scores, request.count);
    return this.rows.toDataset(items, Float32Array.from(items, (item) => scores[item] as number));
  }
}

async function firstStageScores(rows: BundleRows, models: RankerModels, user: number, candidates?: ArrayLike<number>): Promise<Float32Array> {
  const { assets } = rows;
  const embedding = await embedUser(models.firstStageUserTower, assets, rows.userContext(user));
  const dim = assets.manifest.models.first_stage.dim;
  const table = assets.firstStageItemEmbeddings;
  const scores = new Float32Array(assets.items.ids.size).fill(-Infinity);
  const count = candidates ? candidates.length : scores.length;
  for (let c = 0; c < count; c++) {
    const item = candidates ? (candidates[c] as number) : c;
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += (embedding[d] as number) * (table[item * dim + d] as number);
    scores[item] = sum;
  }
  return scores;
}

/**
 * first_stage_fidelity: within each sampled user's candidate pool (two-tower top 1000 ∪ decayed popularity top
 * 1000, standing in for retrieval until the funnel exists), the share of the second stage's top `keep` (MTML
 * plus the value model) that the first stage also puts in its top `keep`, averaged over users.
 */
export async function firstStageFidelity(rows: BundleRows, models: RankerModels, users: readonly number[], options: { sample: number; keep: number; poolPerSource: number; seed: number }): Promise<{ fidelity: number; users: number; meanPool: number }> {
  const { assets } = rows;
  const next = createRandom(options.seed);
  const pool = [...users];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  const sample = pool.slice(0, options.sample);
  const popular = assets.popular.items.subarray(0, options.poolPerSource);
  let sum = 0;
  let poolSizes = 0;
  for (const user of sample) {
    const context = rows.userContext(user);
    const embedding = await embedUser(models.retrievalUserTower, assets, context);
    const retrieved = models.retrievalIndex.search(embedding, Math.min(options.poolPerSource, assets.items.ids.size)).keys;
    const candidates = Int32Array.from(new Set([...retrieved, ...popular]));
    poolSizes += candidates.length;
    const inputs = allocateMtmlInputs(assets.spec, candidates.length);
    const featureContext = assets.featureContext();
    candidates.forEach((item, r) => writeMtmlRow(featureContext, context, item, assets.config.defaultSurface, assets.asOfMs, inputs, r));
    const probabilities = await runMtml(models.mtml, inputs);
    const { dim, temperature } = assets.manifest.models.retrieval;
    const secondStage = Float64Array.from(candidates, (item, r) => exploreScore(assets.config.valueModel, probabilities, r, assets.itemCounters.decayedImpressions[item] as number, retrievalAffinity(embedding, assets.retrievalItemEmbeddings, item, dim, temperature)));
    const firstAll = await firstStageScores(rows, models, user, candidates);
    const firstStage = Float64Array.from(candidates, (item) => firstAll[item] as number);
    sum += topKOverlap(secondStage, firstStage, options.keep);
  }
  return { fidelity: sample.length === 0 ? 0 : sum / sample.length, users: sample.length, meanPool: sample.length === 0 ? 0 : poolSizes / sample.length };
}
