import { LABELS, type Label } from "../../core/data/labels";
import type { Candidate } from "../../core/funnel/types";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import type { ExploreItem } from "../contract/feeds";

export type { ExploreItem };

export function toItem(bundle: ServingBundle, candidate: Candidate): ExploreItem {
  const { items } = bundle.tables;
  return {
    item_id: items.ids.id(candidate.item),
    author_id: items.authors.id(items.author[candidate.item] as number),
    score: round(candidate.score),
    sources: candidate.sources.map((hit) => hit.source),
    p: candidate.probabilities ? probabilitiesByLabel(candidate.probabilities) : null,
  };
}

/** The models' per-task probabilities (in LABELS order) as the API names them. */
export function probabilitiesByLabel(probabilities: ArrayLike<number>): Record<Label, number> {
  return Object.fromEntries(LABELS.map((label, l) => [label, round(probabilities[l] as number)])) as Record<Label, number>;
}

export function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
