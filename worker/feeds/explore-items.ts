import { LABELS } from "../../core/data/labels";
import type { Candidate } from "../../core/funnel/types";
import type { ServingBundle } from "../../core/serving/serving-bundle";

/** One Explore item as the API answers it (and as a precomputed feed stores it). */
export interface ExploreItem {
  item_id: string;
  author_id: string;
  score: number;
  sources: string[];
  p: Record<string, number> | null;
}

export function toItem(bundle: ServingBundle, candidate: Candidate): ExploreItem {
  const { items } = bundle.tables;
  return {
    item_id: items.ids.id(candidate.item),
    author_id: items.authors.id(items.author[candidate.item] as number),
    score: round(candidate.score),
    sources: candidate.sources.map((hit) => hit.source),
    p: candidate.probabilities ? Object.fromEntries(LABELS.map((label, l) => [label, round(candidate.probabilities?.[l] as number)])) : null,
  };
}

export function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
