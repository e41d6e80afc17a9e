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
    score: significant(candidate.score),
    sources: candidate.sources.map((hit) => hit.source),
    p: candidate.probabilities ? probabilitiesByLabel(candidate.probabilities) : null,
  };
}

/** The models' per-task probabilities (in LABELS order) as the API names them. */
export function probabilitiesByLabel(probabilities: ArrayLike<number>): Record<Label, number> {
  return Object.fromEntries(LABELS.map((label, l) => [label, round(probabilities[l] as number)])) as Record<Label, number>;
}

/**
 * A score to 7 significant digits: scores are EV · prior, at whatever scale a bundle's prior puts them (a tuned prior
 * can put a whole feed below 1e-6), so a fixed number of decimals would flatten their order.
 */
export function significant(value: number): number {
  return Number.isFinite(value) && value !== 0 ? Number(value.toPrecision(7)) : value;
}

export function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
