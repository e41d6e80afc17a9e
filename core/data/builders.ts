import type { EventTable, ItemTable, UserTable } from "./dataset";
import { IdIndex } from "./ids";
import type { Label } from "./labels";

/** Collects events in any order and produces an EventTable sorted by time (stable for equal times). */
export class EventTableBuilder {
  private users: number[] = [];
  private items: number[] = [];
  private times: number[] = [];
  private surfaces: number[] = [];
  private readonly labelValues: Map<Label, number[]>;

  constructor(readonly labels: readonly Label[]) {
    this.labelValues = new Map(labels.map((label) => [label, []]));
  }

  add(user: number, item: number, ts: number, surface: number, labelValues: ReadonlyMap<Label, 0 | 1> | ((label: Label) => 0 | 1)): void {
    this.users.push(user);
    this.items.push(item);
    this.times.push(ts);
    this.surfaces.push(surface);
    for (const [label, column] of this.labelValues) {
      column.push(typeof labelValues === "function" ? labelValues(label) : (labelValues.get(label) ?? 0));
    }
  }

  build(): EventTable {
    const size = this.times.length;
    const order = new Int32Array(size);
    for (let i = 0; i < size; i++) order[i] = i;
    const times = this.times;
    order.sort((a, b) => (times[a] as number) - (times[b] as number) || a - b);
    const user = new Int32Array(size);
    const item = new Int32Array(size);
    const ts = new Float64Array(size);
    const surface = new Int32Array(size);
    const labels: Partial<Record<Label, Uint8Array>> = {};
    for (const label of this.labels) labels[label] = new Uint8Array(size);
    for (let row = 0; row < size; row++) {
      const source = order[row] as number;
      user[row] = this.users[source] as number;
      item[row] = this.items[source] as number;
      ts[row] = times[source] as number;
      surface[row] = this.surfaces[source] as number;
      for (const [label, column] of this.labelValues) (labels[label] as Uint8Array)[row] = column[source] as number;
    }
    return { size, user, item, ts, surface, labels };
  }
}

export interface ItemRecord {
  id: string;
  author: string;
  tags: readonly string[];
  /** Milliseconds since the epoch (negative before 1970), or UNKNOWN (NaN). */
  createdAt: number;
  /** Non-negative milliseconds, or UNKNOWN (NaN). */
  durationMs: number;
  type: string;
  integrity: number;
}

export function buildItemTable(records: readonly ItemRecord[]): ItemTable {
  const ids = new IdIndex();
  const authors = new IdIndex();
  const tags = new IdIndex();
  const types = new IdIndex();
  const size = records.length;
  const author = new Int32Array(size);
  const tagOffsets = new Int32Array(size + 1);
  const tagList: number[] = [];
  const createdAt = new Float64Array(size);
  const durationMs = new Float64Array(size);
  const type = new Int32Array(size);
  const integrity = new Float32Array(size);
  records.forEach((record, row) => {
    ids.add(record.id);
    author[row] = authors.add(record.author);
    for (const tag of record.tags) tagList.push(tags.add(tag));
    tagOffsets[row + 1] = tagList.length;
    createdAt[row] = record.createdAt;
    durationMs[row] = record.durationMs;
    type[row] = types.add(record.type);
    integrity[row] = record.integrity;
  });
  return { ids, authors, author, tags, tagOffsets, tagIds: Int32Array.from(tagList), createdAt, durationMs, types, type, integrity };
}

export interface UserFeatureSchema {
  readonly categorical: readonly string[];
  readonly numeric: readonly string[];
}

/** Collects user feature rows; users seen only in events are added later without features. */
export class UserTableBuilder {
  readonly ids = new IdIndex();
  private readonly hasFeatures: number[] = [];
  private readonly categoricalValues: IdIndex[];
  private readonly categoricalCodes: number[][];
  private readonly numericValues: number[][];

  constructor(readonly schema: UserFeatureSchema) {
    this.categoricalValues = schema.categorical.map(() => IdIndex.from([""]));
    this.categoricalCodes = schema.categorical.map(() => []);
    this.numericValues = schema.numeric.map(() => []);
  }

  /** Returns false when the user already had a feature row. */
  addWithFeatures(id: string, categorical: readonly string[], numeric: readonly number[]): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    this.hasFeatures.push(1);
    categorical.forEach((value, i) => (this.categoricalCodes[i] as number[]).push((this.categoricalValues[i] as IdIndex).add(value)));
    numeric.forEach((value, i) => (this.numericValues[i] as number[]).push(value));
    return true;
  }

  /** The row of a user referenced by an event, adding a featureless user when unknown. */
  rowFor(id: string): number {
    const existing = this.ids.get(id);
    if (existing !== undefined) return existing;
    const row = this.ids.add(id);
    this.hasFeatures.push(0);
    for (const codes of this.categoricalCodes) codes.push(0);
    for (const values of this.numericValues) values.push(0);
    return row;
  }

  build(): UserTable {
    return {
      ids: this.ids,
      hasFeatures: Uint8Array.from(this.hasFeatures),
      categorical: this.schema.categorical.map((name, i) => ({
        name,
        values: this.categoricalValues[i] as IdIndex,
        codes: Int32Array.from(this.categoricalCodes[i] as number[]),
      })),
      numeric: this.schema.numeric.map((name, i) => ({ name, values: Float64Array.from(this.numericValues[i] as number[]) })),
    };
  }
}
