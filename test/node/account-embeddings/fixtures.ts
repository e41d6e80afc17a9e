// Small hand-made catalogues and event logs for the account-embedding tests.
import { EventTableBuilder } from "../../../core/data/builders";
import type { EventTable, ItemTable, TrainingData } from "../../../core/data/dataset";
import { IdIndex } from "../../../core/data/ids";
import { LABELS, type Label } from "../../../core/data/labels";

/** A catalogue where item i is by author itemAuthors[i] and carries tags itemTags[i] (tag rows). */
export function catalogue(itemAuthors: readonly number[], authorCount: number, itemTags: readonly (readonly number[])[] = []): ItemTable {
  const tagOffsets = new Int32Array(itemAuthors.length + 1);
  const tagIds: number[] = [];
  itemAuthors.forEach((_, i) => {
    tagIds.push(...(itemTags[i] ?? []));
    tagOffsets[i + 1] = tagIds.length;
  });
  const tagCount = Math.max(0, ...tagIds) + 1;
  return {
    ids: IdIndex.from(itemAuthors.map((_, i) => `item${i}`)),
    authors: IdIndex.from(Array.from({ length: authorCount }, (_, a) => `author${a}`)),
    author: Int32Array.from(itemAuthors),
    tags: IdIndex.from(Array.from({ length: tagCount }, (_, t) => `tag${t}`)),
    tagOffsets,
    tagIds: Int32Array.from(tagIds),
    createdAt: new Float64Array(itemAuthors.length),
    durationMs: new Float64Array(itemAuthors.length),
    types: IdIndex.from(["NORMAL"]),
    type: new Int32Array(itemAuthors.length),
    integrity: new Float32Array(itemAuthors.length).fill(1),
  };
}

export interface EventSpec {
  readonly user: number;
  readonly item: number;
  readonly ts: number;
  /** Labels set to 1; none = an impression. */
  readonly labels?: readonly Label[];
}

export function eventTable(events: readonly EventSpec[]): EventTable {
  const builder = new EventTableBuilder(LABELS);
  for (const e of events) builder.add(e.user, e.item, e.ts, 1, (label) => (e.labels?.includes(label) ? 1 : 0));
  return builder.build();
}

export function trainingData(items: ItemTable, events: EventTable, userCount: number): TrainingData {
  return {
    name: "synthetic",
    timezoneOffsetMinutes: 0,
    homeSurfaces: [1],
    labels: LABELS,
    items,
    users: { ids: IdIndex.from(Array.from({ length: userCount }, (_, u) => `user${u}`)), hasFeatures: new Uint8Array(userCount), categorical: [], numeric: [] },
    notes: [],
    events,
    endMs: events.size === 0 ? 0 : (events.ts[events.size - 1] as number) + 1,
  };
}

export function cosine(vectors: Float32Array, dim: number, a: number, b: number): number {
  let dot = 0, na = 0, nb = 0;
  for (let d = 0; d < dim; d++) {
    const x = vectors[a * dim + d] as number, y = vectors[b * dim + d] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}
