// Per-user engagement sequences over authors: the "sentences" that the skip-gram model learns account embeddings from
// (Suggested Posts: "accounts a user interacts with, as a sequence of words in a sentence").

import type { EventTable, ItemTable } from "../../core/data/dataset";
import type { Label } from "../../core/data/labels";

/** The labels that make an event an engagement: any positive signal short of a mere impression (not `hate`). */
export const ENGAGEMENT_LABELS: readonly Label[] = ["click", "long_view", "like", "comment", "forward", "follow"];

/**
 * Sequences in CSR layout: sequence s is tokens[offsets[s] .. offsets[s+1]), one sequence per user that engaged,
 * users in ascending row order. Tokens are author rows (of `ItemTable.authors`) in time order.
 */
export interface AuthorSequences {
  readonly offsets: Int32Array;
  readonly tokens: Int32Array;
  /** The user row of each sequence. */
  readonly users: Int32Array;
}

export interface AuthorSequenceOptions {
  /** Labels that count as engagement (default ENGAGEMENT_LABELS); those the data set does not record are skipped. */
  readonly labels?: readonly Label[];
}

/** Whether each event is an engagement: the OR of the given label columns. */
export function engagedEvents(events: EventTable, labels: readonly Label[] = ENGAGEMENT_LABELS): Uint8Array {
  const columns = labels.map((label) => events.labels[label]).filter((column): column is Uint8Array => column !== undefined);
  if (columns.length === 0) {
    throw new Error(`engagedEvents: the events record none of the engagement labels ${labels.join(", ")}`);
  }
  const engaged = new Uint8Array(events.size);
  for (const column of columns) for (let e = 0; e < events.size; e++) engaged[e] = (engaged[e] as number) | (column[e] as number);
  return engaged;
}

/**
 * For each user, the time-ordered authors of the items they engaged with, consecutive repeats of one author collapsed
 * (binge-watching one account says nothing about which accounts go together). Events must be sorted by time, as every
 * `EventTable` is; ties keep table order.
 */
export function buildAuthorSequences(events: EventTable, items: ItemTable, options: AuthorSequenceOptions = {}): AuthorSequences {
  const engaged = engagedEvents(events, options.labels);
  for (let e = 1; e < events.size; e++) {
    if ((events.ts[e] as number) < (events.ts[e - 1] as number)) throw new Error(`buildAuthorSequences: events are not sorted by time at row ${e}`);
  }
  const byUser = new Map<number, number[]>();
  for (let e = 0; e < events.size; e++) {
    if (engaged[e] === 0) continue;
    const item = events.item[e] as number;
    if (item < 0 || item >= items.author.length) throw new Error(`buildAuthorSequences: event ${e} refers to item row ${item}, outside the ${items.author.length} items`);
    const author = items.author[item] as number;
    const user = events.user[e] as number;
    let sequence = byUser.get(user);
    if (sequence === undefined) byUser.set(user, (sequence = []));
    if (sequence[sequence.length - 1] !== author) sequence.push(author);
  }
  const users = Int32Array.from(byUser.keys()).sort();
  const offsets = new Int32Array(users.length + 1);
  let total = 0;
  users.forEach((user, s) => {
    total += (byUser.get(user) as number[]).length;
    offsets[s + 1] = total;
  });
  const tokens = new Int32Array(total);
  users.forEach((user, s) => tokens.set(byUser.get(user) as number[], offsets[s] as number));
  return { offsets, tokens, users };
}

/** Checks the CSR layout and that every token is an author row below `authorCount`; throws naming the first problem. */
export function validateSequences(sequences: AuthorSequences, authorCount: number): void {
  const { offsets, tokens } = sequences;
  if (!(offsets instanceof Int32Array) || !(tokens instanceof Int32Array)) throw new Error("sequences: offsets and tokens must be Int32Array");
  if (offsets.length < 1 || offsets[0] !== 0 || offsets[offsets.length - 1] !== tokens.length) {
    throw new Error(`sequences: offsets must start at 0 and end at tokens.length=${tokens.length}`);
  }
  for (let s = 0; s + 1 < offsets.length; s++) {
    if ((offsets[s + 1] as number) < (offsets[s] as number)) throw new Error(`sequences: offsets decrease at sequence ${s}`);
  }
  if (!Number.isInteger(authorCount) || authorCount < 1) throw new Error(`sequences: authorCount must be a positive integer, got ${authorCount}`);
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t] as number;
    if (token < 0 || token >= authorCount) throw new Error(`sequences: token ${token} at position ${t} is not an author row in [0, ${authorCount})`);
  }
}
