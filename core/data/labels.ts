/** The engagement labels the ranker predicts, in the order every model and report uses. */
export const LABELS = ["click", "long_view", "like", "comment", "forward", "follow", "hate"] as const;
export type Label = (typeof LABELS)[number];

export function isLabel(name: string): name is Label {
  return (LABELS as readonly string[]).includes(name);
}
