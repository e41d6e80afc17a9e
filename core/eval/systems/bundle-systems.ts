import type { Dataset } from "../../data/dataset";
import { LABELS, type Label } from "../../data/labels";
import type { UserContext } from "../../features/context";
import { allocateMtmlInputs, writeMtmlRow } from "../../features/mtml-features";
import { firstStageScores } from "../../funnel/stages/first-stage";
import { priorNeedsAffinity } from "../../ranking/value-model";
import { runMtml } from "../../serving/model-runs";
import type { BundleTables } from "../../serving/bundle-tables";
import { embedUser, type BundleModels } from "../../serving/bundle-models";
import { topK } from "../../util/top-k";
import type { LabelScores, PairBatch, PairScorer, RankedItems, RecommendRequest, Recommender } from "../types";
import { logPriors } from "../../funnel/scoring";
import { calibrateMtmlRows } from "../../ranking/calibration";

/**
 * Row maps between an evaluation data set and a bundle: the same external ids may sit in different rows,
 * and an id the bundle never saw maps to -1 (an unknown user is cold; an unknown item cannot be scored).
 */
export class BundleRows {
  readonly userToBundle: Int32Array;
  readonly itemToBundle: Int32Array;
  readonly itemFromBundle: Int32Array;

  constructor(dataset: Pick<Dataset, "users" | "items">, readonly tables: BundleTables) {
    this.userToBundle = Int32Array.from(dataset.users.ids.ids(), (id) => tables.users.ids.get(id) ?? -1);
    this.itemToBundle = Int32Array.from(dataset.items.ids.ids(), (id) => tables.items.ids.get(id) ?? -1);
    this.itemFromBundle = Int32Array.from(tables.items.ids.ids(), (id) => dataset.items.ids.get(id) ?? -1);
  }

  /** The user's context from the bundle alone (history up to its end): the offline "state at the end of training". */
  userContext(user: number, cache?: Map<number, UserContext>): UserContext {
    const cached = cache?.get(user);
    if (cached) return cached;
    const bundleRow = this.userToBundle[user] as number;
    const context = this.tables.userContext(bundleRow < 0 ? undefined : bundleRow);
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
  readonly probabilities = true;
  private readonly users = new Map<number, UserContext>();

  constructor(private readonly rows: BundleRows, private readonly models: BundleModels) {}

  async score(batch: PairBatch): Promise<LabelScores> {
    const { tables } = this.rows;
    const known: number[] = [];
    for (let i = 0; i < batch.size; i++) if ((this.rows.itemToBundle[batch.item[i] as number] as number) >= 0) known.push(i);
    const inputs = allocateMtmlInputs(tables.spec, known.length);
    const context = tables.featureContext();
    known.forEach((i, r) => {
      writeMtmlRow(context, this.rows.userContext(batch.user[i] as number, this.users), this.rows.itemToBundle[batch.item[i] as number] as number, batch.surface[i] as number, tables.asOfMs, inputs, r);
    });
    // calibrated as serving calibrates them (mtmlProbabilities), so the calibration measured is the one served
    const probabilities = calibrateMtmlRows(tables.manifest.models.mtml.calibration, await runMtml(this.models.mtml, inputs));
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
  constructor(private readonly rows: BundleRows, private readonly models: BundleModels) {}

  async recommend(request: RecommendRequest): Promise<RankedItems> {
    const embedding = await embedUser(this.models.retrievalUserTower, this.rows.tables, this.rows.userContext(request.user));
    const found = this.models.retrievalIndex.search(embedding, Math.min(request.count, this.rows.tables.items.ids.size));
    return this.rows.toDataset(found.keys, Float32Array.from(found.distances, (distance) => 1 - distance));
  }
}

/**
 * The first stage alone over the whole catalogue: its estimate of log EV (the cached embeddings' dot product)
 * plus the value model's prior, with no retrieval score (no source found these items).
 */
export class FirstStageRecommender implements Recommender {
  readonly name = "first_stage";
  constructor(private readonly rows: BundleRows, private readonly models: BundleModels) {}

  async recommend(request: RecommendRequest): Promise<RankedItems> {
    const { tables } = this.rows;
    const context = this.rows.userContext(request.user);
    const embedding = await embedUser(this.models.firstStageUserTower, tables, context);
    const valueModel = tables.config.valueModel;
    const retrievalEmbedding = priorNeedsAffinity(valueModel) ? await embedUser(this.models.retrievalUserTower, tables, context) : undefined;
    const all = Array.from({ length: tables.items.ids.size }, (_, item) => item);
    const scores = firstStageScores(tables, embedding, all);
    const priors = logPriors(tables, valueModel, all, new Float64Array(all.length), retrievalEmbedding);
    for (let item = 0; item < scores.length; item++) scores[item] = (scores[item] as number) + (priors[item] as number);
    const items = topK(scores, request.count);
    return this.rows.toDataset(items, Float32Array.from(items, (item) => scores[item] as number));
  }
}
