import type { Dataset, TrainingData } from "../data/dataset";
import type { TimeSplit } from "../data/split";
import { CooccurrenceRecommender } from "./baselines/cooccurrence";
import { ItemRateScorer } from "./baselines/item-rate";
import { DecayedPopularity } from "./baselines/popularity";
import { RandomScorer } from "./baselines/random";
import { CATALOGUE_LABELS, evaluateFullCatalogue, evaluateImpressions, testPositives, warmSample, type FullCatalogueResult, type ImpressionResult } from "./protocols";
import type { PairScorer, Recommender } from "./types";

export interface EvaluationReport {
  split: { train_end: string; test_start: string; test_end: string };
  data: { name: string; train_events: number; test_events: number; items: number; users: number; notes: readonly string[] };
  full_catalogue: Record<string, FullCatalogueResult>;
  impressions: Record<string, ImpressionResult>;
  /** Extra measures added by later systems (first-stage fidelity, say), by name. */
  measures: Record<string, number>;
  seconds: Record<string, number>;
}

export function trainingData(dataset: Dataset, split: TimeSplit): TrainingData {
  return { ...dataset, events: split.train, endMs: split.trainEndMs };
}

export interface Systems {
  recommenders: Recommender[];
  scorers: PairScorer[];
}

export function baselineSystems(train: TrainingData): Systems {
  const popularity = new DecayedPopularity(train);
  return {
    recommenders: [popularity, new CooccurrenceRecommender(train, popularity)],
    scorers: [popularity, new ItemRateScorer(train), new RandomScorer(train.labels)],
  };
}

export interface EvaluationHooks {
  onSystemDone?(kind: "recommender" | "scorer", name: string, seconds: number): void;
}

export async function evaluate(dataset: Dataset, split: TimeSplit, systems: Systems, hooks: EvaluationHooks = {}): Promise<EvaluationReport> {
  const train = trainingData(dataset, split);
  const positives = testPositives(split.test, CATALOGUE_LABELS);
  const report: EvaluationReport = {
    split: { train_end: split.trainEnd, test_start: split.testStart, test_end: split.testEnd },
    data: {
      name: dataset.name,
      train_events: split.train.size,
      test_events: split.test.size,
      items: dataset.items.ids.size,
      users: dataset.users.ids.size,
      notes: dataset.notes,
    },
    full_catalogue: {},
    impressions: {},
    measures: {},
    seconds: {},
  };
  const personalisationUsers = warmSample(train, positives);
  for (const recommender of systems.recommenders) {
    const started = performance.now();
    report.full_catalogue[recommender.name] = await evaluateFullCatalogue(recommender, train, positives, personalisationUsers);
    const seconds = (performance.now() - started) / 1000;
    report.seconds[`full_catalogue.${recommender.name}`] = seconds;
    hooks.onSystemDone?.("recommender", recommender.name, seconds);
  }
  for (const scorer of systems.scorers) {
    const started = performance.now();
    report.impressions[scorer.name] = await evaluateImpressions(scorer, split.test, dataset.labels);
    const seconds = (performance.now() - started) / 1000;
    report.seconds[`impressions.${scorer.name}`] = seconds;
    hooks.onSystemDone?.("scorer", scorer.name, seconds);
  }
  return report;
}
