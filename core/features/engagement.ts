import { LABELS, type Label } from "../data/labels";

/** Labels packed into bits, in LABELS order: one small integer per event instead of seven columns. */
export type LabelBits = number;

export const LABEL_BIT: Readonly<Record<Label, number>> = Object.fromEntries(LABELS.map((label, i) => [label, 1 << i])) as Record<Label, number>;

export function hasLabel(bits: LabelBits, label: Label): boolean {
  return (bits & LABEL_BIT[label]) !== 0;
}

export function labelBits(labels: Iterable<Label>): LabelBits {
  let bits = 0;
  for (const label of labels) bits |= LABEL_BIT[label];
  return bits;
}

/** "Engaged" for history and graph purposes: any positive signal short of a mere impression. */
export const ENGAGED_BITS = LABEL_BIT.click | LABEL_BIT.long_view | LABEL_BIT.like | LABEL_BIT.comment | LABEL_BIT.forward | LABEL_BIT.follow;

/** One interaction of a user with an item, as both the trainer and the Worker see it. */
export interface Engagement {
  readonly item: number;
  readonly ts: number;
  readonly surface: number;
  readonly labels: LabelBits;
}
