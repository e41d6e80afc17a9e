import { LABELS, type Label } from "../../core/data/labels";
import type { Candidate, FeedRequest } from "../../core/funnel/types";
import { calibrateMtmlRows, type MtmlCalibration } from "../../core/ranking/calibration";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import type { ExploreItem } from "../contract/feeds";

export type { ExploreItem };

/** `reportMaps`: the feedback maps still to apply to the candidate's probabilities before they are reported (reportingMaps). */
export function toItem(bundle: ServingBundle, candidate: Candidate, reportMaps?: MtmlCalibration): ExploreItem {
  const { items } = bundle.tables;
  return {
    item_id: items.ids.id(candidate.item),
    author_id: items.authors.id(items.author[candidate.item] as number),
    score: significant(candidate.score),
    sources: candidate.sources.map((hit) => hit.source),
    p: candidate.probabilities ? probabilitiesByLabel(reportedProbabilities(candidate.probabilities, reportMaps)) : null,
  };
}

/**
 * The feedback maps a request's reported probabilities still need: all of them when ranking read the model's own
 * (`calibration.feedbackInRanking` off), none when the ranking's probabilities already went through them.
 */
export function reportingMaps(request: FeedRequest, maps: MtmlCalibration): MtmlCalibration | undefined {
  return request.feedbackCalibration === undefined && Object.keys(maps).length > 0 ? maps : undefined;
}

/** Probabilities by label (a precomputed page's, the model's own) through the maps in force. */
export function reportedByLabel(p: Readonly<Record<Label, number>>, maps: MtmlCalibration): Record<Label, number> {
  if (Object.keys(maps).length === 0) return { ...p };
  return probabilitiesByLabel(reportedProbabilities(Float32Array.from(LABELS, (label) => p[label]), maps));
}

/** One item's probabilities (LABELS order) through the maps, as a copy; the same array without maps. */
export function reportedProbabilities(probabilities: Float32Array, maps: MtmlCalibration | undefined): Float32Array {
  return maps === undefined ? probabilities : calibrateMtmlRows(maps, Float32Array.from(probabilities));
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
