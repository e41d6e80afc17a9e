import type { TrainingData } from "../../core/data/dataset";
import type { FittedFeatures } from "../../core/features/fit-spec";
import { measureDenseStatistics } from "../../core/features/fit-spec";
import { standardiseRows, type FeatureSpec } from "../../core/features/spec";
import {
  allocateItemTowerInputs,
  allocateUserTowerInputs,
  writeItemTowerRow,
  writeUserTowerRow,
  type ItemTowerInputs,
  type UserTowerInputs,
} from "../../core/features/tower-features";
import { featureContext, newReplay, userContextFor } from "../mtml/rows";

/** Positive (user, item) examples for in-batch softmax, with both towers' inputs as of the example's day. */
export interface RetrievalExamples {
  readonly users: UserTowerInputs;
  readonly items: ItemTowerInputs;
  /** Catalogue row of each example's item (for logQ and accidental-hit removal). */
  readonly item: Int32Array;
  /** User row of each example. */
  readonly user: Int32Array;
  readonly ts: Float64Array;
  readonly spec: FeatureSpec;
}

/**
 * Every training click becomes an example. Like the MTML rows, each example sees only the days before its
 * own (DayByDayReplay); then both towers' dense columns are standardised and the statistics go in the spec.
 */
export function buildRetrievalExamples(train: TrainingData, fitted: FittedFeatures, spec: FeatureSpec): RetrievalExamples {
  const clicks = train.events.labels.click;
  if (!clicks) throw new Error("retrieval examples need the click label");
  let count = 0;
  for (let r = 0; r < train.events.size; r++) if (clicks[r]) count++;
  const users = allocateUserTowerInputs(spec, count);
  const items = allocateItemTowerInputs(spec, count);
  const item = new Int32Array(count);
  const userRows = new Int32Array(count);
  const ts = new Float64Array(count);
  const replay = newReplay(train, spec);
  let e = 0;
  replay.run(train.events, (_day, from, to) => {
    const context = featureContext(train, fitted, spec, replay);
    for (let r = from; r < to; r++) {
      if (!clicks[r]) continue;
      const user = train.events.user[r] as number;
      writeUserTowerRow(context, userContextFor(train, fitted, user, replay.activity(user)), users, e, false);
      writeItemTowerRow(context, train.events.item[r] as number, train.events.ts[r] as number, items, e, false);
      item[e] = train.events.item[r] as number;
      userRows[e] = user;
      ts[e] = train.events.ts[r] as number;
      e++;
    }
  });
  const userDense = measureDenseStatistics(spec.tower.userDense.names, users.dense, count);
  const itemDense = measureDenseStatistics(spec.tower.itemDense.names, items.dense, count);
  const standardised: FeatureSpec = { ...spec, tower: { ...spec.tower, userDense, itemDense } };
  standardiseRows(users.dense, userDense);
  standardiseRows(items.dense, itemDense);
  return { users, items, item, user: userRows, ts, spec: standardised };
}

export function takeUserRows(spec: FeatureSpec, inputs: UserTowerInputs, rows: ArrayLike<number>): UserTowerInputs {
  const out = allocateUserTowerInputs(spec, rows.length);
  copyRows(inputs.categorical, out.categorical, rows, inputs.categorical.length / Math.max(1, inputs.size));
  copyRows(inputs.history, out.history, rows, spec.tower.historyLength);
  copyRows(inputs.historyAuthors, out.historyAuthors, rows, spec.tower.historyLength);
  copyRows(inputs.dense, out.dense, rows, spec.tower.userDense.names.length);
  return out;
}

export function takeItemRows(spec: FeatureSpec, inputs: ItemTowerInputs, rows: ArrayLike<number>): ItemTowerInputs {
  const out = allocateItemTowerInputs(spec, rows.length);
  copyRows(inputs.item, out.item, rows, 1);
  copyRows(inputs.author, out.author, rows, 1);
  copyRows(inputs.tags, out.tags, rows, spec.maxTags);
  copyRows(inputs.categorical, out.categorical, rows, inputs.categorical.length / Math.max(1, inputs.size));
  copyRows(inputs.dense, out.dense, rows, spec.tower.itemDense.names.length);
  return out;
}

function copyRows<T extends Int32Array | Float32Array>(source: T, target: T, rows: ArrayLike<number>, width: number): void {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    target.set(source.subarray(r * width, (r + 1) * width), i * width);
  }
}
