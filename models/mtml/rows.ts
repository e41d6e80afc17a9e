import type { Dataset, EventTable, TrainingData } from "../../core/data/dataset";
import { LABELS } from "../../core/data/labels";
import { userContextOf, type FeatureContext, type UserContext } from "../../core/features/context";
import type { FittedFeatures } from "../../core/features/fit-spec";
import { withDenseStatistics } from "../../core/features/fit-spec";
import { allocateMtmlInputs, writeMtmlRow, type MtmlInputs } from "../../core/features/mtml-features";
import { DayByDayReplay } from "../../core/features/replay";
import { standardiseRows, type FeatureSpec } from "../../core/features/spec";
import type { UserActivity } from "../../core/features/user-activity";

/** MTML training rows: inputs, one 0/1 column per label, and each row's local day index. */
export interface MtmlRows {
  readonly inputs: MtmlInputs;
  /** [rows × LABELS.length] */
  readonly labels: Float32Array;
  readonly day: Int32Array;
  readonly spec: FeatureSpec;
  /** The replay after the whole training window: the state test rows and the bundle use. */
  readonly finalState: DayByDayReplay;
}

export function userContextFor(dataset: Pick<Dataset, "users">, fitted: Pick<FittedFeatures, "userEmbeddingRow">, user: number, activity: UserActivity): UserContext {
  return userContextOf(dataset.users, fitted.userEmbeddingRow, user, activity);
}

export function featureContext(train: Pick<TrainingData, "items">, fitted: FittedFeatures, spec: FeatureSpec, replay: DayByDayReplay): FeatureContext {
  return {
    spec,
    catalogue: train.items,
    itemEmbeddingRow: fitted.itemEmbeddingRow,
    authorEmbeddingRow: fitted.authorEmbeddingRow,
    itemCounters: replay.itemCounters,
    authorCounters: replay.authorCounters,
  };
}

/**
 * Builds one MTML row per training impression. Each row's counters and user aggregates hold only the days
 * before the row's day (DayByDayReplay), then the dense columns are standardised with statistics of these rows.
 */
export function buildMtmlRows(train: TrainingData, fitted: FittedFeatures): MtmlRows {
  const events = train.events;
  const replay = newReplay(train, fitted.spec);
  const inputs = allocateMtmlInputs(fitted.spec, events.size);
  const day = new Int32Array(events.size);
  let dayIndex = -1;
  replay.run(events, (_dayStart, from, to) => {
    dayIndex++;
    const context = featureContext(train, fitted, fitted.spec, replay);
    for (let r = from; r < to; r++) {
      const user = events.user[r] as number;
      writeMtmlRow(context, userContextFor(train, fitted, user, replay.activity(user)), events.item[r] as number, events.surface[r] as number, events.ts[r] as number, inputs, r, false);
      day[r] = dayIndex;
    }
  });
  replay.advanceTo(train.endMs);
  const spec = withDenseStatistics(fitted.spec, inputs.dense, events.size);
  standardiseInPlace(spec, inputs.dense, events.size);
  return { inputs, labels: labelMatrix(events), day, spec, finalState: replay };
}

export function newReplay(train: Pick<TrainingData, "items" | "timezoneOffsetMinutes" | "events">, spec: FeatureSpec): DayByDayReplay {
  const start = train.events.size > 0 ? (train.events.ts[0] as number) : 0;
  return new DayByDayReplay(train.items, train.items.ids.size, train.items.authors.size, spec.halfLifeMs, train.timezoneOffsetMinutes, start, { historyLength: spec.historyLength });
}

export function standardiseInPlace(spec: FeatureSpec, dense: Float32Array, rows: number): void {
  standardiseRows(dense, spec.dense, 0, rows);
}

export function labelMatrix(events: EventTable): Float32Array {
  const labels = new Float32Array(events.size * LABELS.length);
  LABELS.forEach((label, l) => {
    const column = events.labels[label];
    if (!column) return;
    for (let r = 0; r < events.size; r++) labels[r * LABELS.length + l] = column[r] as number;
  });
  return labels;
}

/** Copies the given rows of a batch of inputs into a new batch (for mini-batches and slices). */
export function takeMtmlRows(spec: FeatureSpec, inputs: MtmlInputs, rows: ArrayLike<number>): MtmlInputs {
  const out = allocateMtmlInputs(spec, rows.length);
  const slots = spec.categorical.length;
  const tags = spec.maxTags;
  const width = spec.dense.names.length;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    out.user[i] = inputs.user[r] as number;
    out.item[i] = inputs.item[r] as number;
    out.author[i] = inputs.author[r] as number;
    out.categorical.set(inputs.categorical.subarray(r * slots, (r + 1) * slots), i * slots);
    out.tags.set(inputs.tags.subarray(r * tags, (r + 1) * tags), i * tags);
    out.dense.set(inputs.dense.subarray(r * width, (r + 1) * width), i * width);
  }
  return out;
}
