/**
 * Small but real models for tests and fixtures: a feature spec fitted with the pipeline's own code on a synthetic
 * KuaiRand-shaped data set, MTML and two-tower models trained for a few steps (so weights are not at their
 * initial values), and feature rows written by the feature layer that the Worker uses.
 */
import { loadDataset } from "../../core/data/load";
import { MemoryDataSource } from "../../core/data/source";
import { trainingWindow } from "../../core/data/split";
import type { TrainingData } from "../../core/data/dataset";
import type { FeatureContext, UserContext } from "../../core/features/context";
import { fitFeatures, type FeatureFitOptions, type FittedFeatures } from "../../core/features/fit-spec";
import { allocateMtmlInputs, writeMtmlRow, type MtmlInputs } from "../../core/features/mtml-features";
import { DENSE_CLIP, type FeatureSpec } from "../../core/features/spec";
import {
  ITEM_TOWER_SLOTS,
  allocateItemTowerInputs,
  allocateUserTowerInputs,
  itemSlotIndices,
  userSlotIndices,
  writeItemTowerRow,
  writeUserTowerRow,
  type ItemTowerInputs,
  type UserTowerInputs,
} from "../../core/features/tower-features";
import { UserActivity } from "../../core/features/user-activity";
import { Rng } from "../../models/autodiff";
import type { MtmlArchitecture, MtmlModel } from "../../models/mtml/model";
import { buildMtmlRows, featureContext, userContextFor, type MtmlRows } from "../../models/mtml/rows";
import { DEFAULT_MTML_TRAINING, trainMtml } from "../../models/mtml/train";
import type { TowerArchitecture, TwoTowerModel } from "../../models/two-tower/model";
import { buildRetrievalExamples, type RetrievalExamples } from "../../models/two-tower/rows";
import { DEFAULT_RETRIEVAL_TRAINING, trainRetrieval } from "../../models/two-tower/train";
import { syntheticDay, syntheticKuaiRandFiles, type SyntheticKuaiRandOptions } from "./synthetic-kuairand";

export const TINY_DATA: SyntheticKuaiRandOptions = { users: 120, items: 80, days: 3, impressionsPerUserDay: 5, seed: 11 };
export const TINY_FIT: FeatureFitOptions = { maxTags: 3, historyLength: 20, towerHistoryLength: 6 };
export const TINY_MTML: MtmlArchitecture = { idDim: 4, categoricalDim: 3, tagDim: 3, hidden: [16, 8], experts: 1, userIdEmbedding: false };
export const TINY_TOWER: TowerArchitecture = { outputDim: 8, idDim: 4, categoricalDim: 3, tagDim: 3, hidden: [16] };

/** A fitted training window: the spec (MTML and tower statistics filled in), rows, examples and the end state. */
export interface TinyTraining {
  readonly train: TrainingData;
  readonly fitted: FittedFeatures;
  /** MTML training rows (standardised) with labels. */
  readonly rows: MtmlRows;
  readonly examples: RetrievalExamples;
  /** The spec a bundle would ship: MTML dense statistics and both towers' statistics. */
  readonly spec: FeatureSpec;
  /** Feature state at the end of the window (what serving starts from). */
  readonly context: FeatureContext;
}

/** Loads a synthetic data set and fits features on all of its days, exactly as the pipeline does. */
export async function buildTinyTraining(data: Partial<SyntheticKuaiRandOptions> = {}, fit: FeatureFitOptions = TINY_FIT): Promise<TinyTraining> {
  const options = { ...TINY_DATA, ...data };
  const dataset = await loadDataset(new MemoryDataSource(syntheticKuaiRandFiles(options), "synthetic"), "synthetic");
  const window = trainingWindow(dataset, syntheticDay(options.days - 1));
  const train: TrainingData = { ...dataset, events: window.train, endMs: window.trainEndMs };
  const fitted = fitFeatures(train, fit);
  const rows = buildMtmlRows(train, fitted);
  const examples = buildRetrievalExamples(train, fitted, rows.spec);
  const spec = examples.spec;
  return { train, fitted, rows, examples, spec, context: featureContext(train, fitted, spec, rows.finalState) };
}

/** A few Adam steps over the training rows (one pass in `steps` batches). */
export function trainMtmlSteps(model: MtmlModel, training: TinyTraining, steps: number, seed: number): void {
  const all = Int32Array.from({ length: training.rows.inputs.size }, (_, i) => i);
  trainMtml(model, training.rows, all, { ...DEFAULT_MTML_TRAINING, epochs: 1, batchSize: Math.ceil(all.length / steps), seed });
}

/** A few in-batch softmax steps over the click examples. */
export function trainTowerSteps(model: TwoTowerModel, training: TinyTraining, steps: number, seed: number): void {
  const all = Int32Array.from({ length: training.examples.item.length }, (_, i) => i);
  trainRetrieval(model, training.examples, all, { ...DEFAULT_RETRIEVAL_TRAINING, epochs: 1, batchSize: Math.ceil(all.length / steps), seed });
}

/** A user the models never saw: embedding row 0, empty features, no history. */
export function unknownUser(training: TinyTraining): UserContext {
  const { users } = training.train;
  return {
    embeddingRow: 0,
    categorical: users.categorical.map(() => 0),
    numeric: users.numeric.map(() => 0),
    hasFeatures: false,
    activity: new UserActivity(training.train.items, { historyLength: training.spec.historyLength }),
  };
}

/** Catalogue items without tags (their tag input is all padding). */
export function untaggedItems(training: TinyTraining): number[] {
  const { tagOffsets } = training.train.items;
  return Array.from({ length: training.train.items.ids.size }, (_, i) => i).filter((i) => tagOffsets[i + 1] === tagOffsets[i]);
}

/** Users known to the training window, in a fixed order, split by whether they engaged with anything. */
function knownUsers(training: TinyTraining): { withHistory: number[]; withoutHistory: number[] } {
  const users = [...training.rows.finalState.activities.entries()].sort(([a], [b]) => a - b);
  return {
    withHistory: users.filter(([, activity]) => activity.recentEngaged.length > 0).map(([user]) => user),
    withoutHistory: users.filter(([, activity]) => activity.recentEngaged.length === 0).map(([user]) => user),
  };
}

function userContext(training: TinyTraining, user: number): UserContext {
  return userContextFor(training.train, training.fitted, user, training.rows.finalState.activity(user));
}

function pick<T>(values: readonly T[], rng: Rng): T {
  if (values.length === 0) throw new Error("tiny models: nothing to pick from");
  return values[rng.int(values.length)] as T;
}

/**
 * MTML rows for random (user, item, surface, time) through `writeMtmlRow`, as serving would write them after
 * the training window. Every 5th row is a user nobody saw (row 0 of every table, empty history), every 4th an
 * untagged item, every 6th a surface outside the spec; times are up to two days after training.
 */
export function randomMtmlInputs(training: TinyTraining, count: number, seed: number): MtmlInputs {
  const rng = new Rng(seed);
  const { withHistory, withoutHistory } = knownUsers(training);
  const untagged = untaggedItems(training);
  const itemCount = training.train.items.ids.size;
  const inputs = allocateMtmlInputs(training.spec, count);
  for (let r = 0; r < count; r++) {
    const user = r % 5 === 0 ? unknownUser(training) : userContext(training, r % 5 === 1 && withoutHistory.length > 0 ? pick(withoutHistory, rng) : pick(withHistory, rng));
    const item = r % 4 === 0 && untagged.length > 0 ? pick(untagged, rng) : rng.int(itemCount);
    const surface = r % 6 === 0 ? 999 : pick(training.spec.surfaces, rng);
    const atMs = training.train.endMs + rng.int(48 * 3_600_000);
    writeMtmlRow(training.context, user, item, surface, atMs, inputs, r);
  }
  return inputs;
}

/** User tower rows through `writeUserTowerRow`; every 4th row has an empty history (all padding). */
export function randomUserTowerInputs(training: TinyTraining, count: number, seed: number): UserTowerInputs {
  const rng = new Rng(seed);
  const { withHistory, withoutHistory } = knownUsers(training);
  const inputs = allocateUserTowerInputs(training.spec, count);
  for (let r = 0; r < count; r++) {
    const user = r % 4 === 0 ? unknownUser(training) : userContext(training, r % 4 === 1 && withoutHistory.length > 0 ? pick(withoutHistory, rng) : pick(withHistory, rng));
    writeUserTowerRow(training.context, user, inputs, r);
  }
  return inputs;
}

/** Item tower rows through `writeItemTowerRow` as of the end of training; every 4th row is an untagged item. */
export function randomItemTowerInputs(training: TinyTraining, count: number, seed: number): ItemTowerInputs {
  const rng = new Rng(seed);
  const untagged = untaggedItems(training);
  const inputs = allocateItemTowerInputs(training.spec, count);
  for (let r = 0; r < count; r++) {
    const item = r % 4 === 0 && untagged.length > 0 ? pick(untagged, rng) : rng.int(training.train.items.ids.size);
    writeItemTowerRow(training.context, item, training.train.endMs, inputs, r);
  }
  return inputs;
}

/**
 * Rows anywhere inside the contract rather than where the data puts them: every id uniform over its whole table
 * (including the last row), categorical ids uniform inside each slot, tags with random padding, dense values
 * uniform over the clipped range [−DENSE_CLIP, DENSE_CLIP]. Catches off-by-one table sizes and range problems
 * that realistic rows never reach.
 */
export function uniformMtmlInputs(spec: FeatureSpec, count: number, seed: number): MtmlInputs {
  const rng = new Rng(seed);
  const inputs = allocateMtmlInputs(spec, count);
  for (let r = 0; r < count; r++) {
    inputs.user[r] = rng.int(spec.vocab.users);
    inputs.item[r] = rng.int(spec.vocab.items);
    inputs.author[r] = rng.int(spec.vocab.authors);
    spec.categorical.forEach((slot, s) => (inputs.categorical[r * spec.categorical.length + s] = slot.offset + rng.int(slot.size)));
    const tags = rng.int(spec.maxTags + 1);
    for (let t = 0; t < spec.maxTags; t++) inputs.tags[r * spec.maxTags + t] = t < tags ? 1 + rng.int(spec.vocab.tags - 1) : 0;
  }
  for (let i = 0; i < inputs.dense.length; i++) inputs.dense[i] = (rng.uniform() * 2 - 1) * DENSE_CLIP;
  return inputs;
}

export function uniformUserTowerInputs(spec: FeatureSpec, count: number, seed: number): UserTowerInputs {
  const rng = new Rng(seed);
  const inputs = allocateUserTowerInputs(spec, count);
  const slots = userSlotIndices(spec);
  const length = spec.tower.historyLength;
  for (let r = 0; r < count; r++) {
    slots.forEach((slotIndex, s) => {
      const slot = spec.categorical[slotIndex] as { offset: number; size: number };
      inputs.categorical[r * slots.length + s] = slot.offset + rng.int(slot.size);
    });
    const history = rng.int(length + 1);
    for (let h = 0; h < length; h++) {
      inputs.history[r * length + h] = h < history ? 1 + rng.int(spec.vocab.items - 1) : 0;
      inputs.historyAuthors[r * length + h] = h < history ? 1 + rng.int(spec.vocab.authors - 1) : 0;
    }
  }
  for (let i = 0; i < inputs.dense.length; i++) inputs.dense[i] = (rng.uniform() * 2 - 1) * DENSE_CLIP;
  return inputs;
}

export function uniformItemTowerInputs(spec: FeatureSpec, count: number, seed: number): ItemTowerInputs {
  const rng = new Rng(seed);
  const inputs = allocateItemTowerInputs(spec, count);
  const slots = itemSlotIndices(spec);
  for (let r = 0; r < count; r++) {
    inputs.item[r] = rng.int(spec.vocab.items);
    inputs.author[r] = rng.int(spec.vocab.authors);
    const tags = rng.int(spec.maxTags + 1);
    for (let t = 0; t < spec.maxTags; t++) inputs.tags[r * spec.maxTags + t] = t < tags ? 1 + rng.int(spec.vocab.tags - 1) : 0;
    slots.forEach((slotIndex, s) => {
      const slot = spec.categorical[slotIndex] as { offset: number; size: number };
      inputs.categorical[r * ITEM_TOWER_SLOTS.length + s] = slot.offset + rng.int(slot.size);
    });
  }
  for (let i = 0; i < inputs.dense.length; i++) inputs.dense[i] = (rng.uniform() * 2 - 1) * DENSE_CLIP;
  return inputs;
}
