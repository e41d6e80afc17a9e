import { z } from "zod";
import { ndcgAtK, recallAtK } from "../../core/eval/metrics";
import { parseServingConfig, type ServingConfig } from "../../core/config/serving";
import { maximise, randomSearch, type OptimiseResult, type Trial } from "./bayesian-optimiser";
import type { Label } from "../../core/data/labels";
import { FEED_GUARD_RAILS, GAUC_GUARD_RAILS, RetrievalCache, feedRailDeficit, guardRailDeficit, impressionGaucOverItemRate, measureFeed, measureRetrieval, type FeedMeasures, type PopularityMeasures, type RetrievalMeasures } from "./objective";
import { fitExposurePrior, type ExposureFit } from "./exposure-model";
import { foldOfUser, inSearchHalf, replayFolds, splitReplayByUser, type Replay } from "./replay";
import { SUGGESTED_LIST, measureSuggested, type SuggestedMeasuresOnReplay, type SuggestedReplay } from "./suggested-replay";
import type { Dimension, Point, SearchSpace } from "./search-space";

/** One searched knob: a path to a number in the serving config, and its bounds. */
const dimensionSchema = z.strictObject({
  path: z.string().regex(/^[A-Za-z_]+(\.[A-Za-z_]+)+$/),
  low: z.number(),
  high: z.number(),
  scale: z.enum(["linear", "log"]).optional(),
  integer: z.boolean().optional(),
});

/** models/serving-config.json's `searchSpace`: each phase's knobs. */
export const tuningSearchSpaceSchema = z.strictObject({
  $comment: z.string().optional(),
  retrieval: z.array(dimensionSchema).min(1),
  value: z.array(dimensionSchema).min(1),
  ranking: z.array(dimensionSchema).min(1),
  suggested: z.array(dimensionSchema).min(1),
});
export type TuningPhase = "retrieval" | "value" | "ranking" | "suggested";
export type TuningSearchSpace = z.infer<typeof tuningSearchSpaceSchema>;

export type TuningMethod = "bayesian" | "random" | "grid";

/**
 * How the ranking phase sets the value model's prior: "searched" by the Bayesian search for the feed's NDCG@10, or
 * "learned" as a logistic model of P(shown | user, item) on the held-out slice (`fitExposurePrior`), the search then
 * setting only the rest of the ranking phase (π, the first-stage keep). models/README.md compares the two.
 */
export type PriorMethod = "searched" | "learned";

export interface TuneOptions {
  readonly method: TuningMethod;
  readonly prior?: PriorMethod;
  readonly seed: number;
  readonly trials: Readonly<Record<TuningPhase, number>>;
  readonly log?: (line: string) => void;
}

/** A phase's trials as the report keeps them. */
export interface PhaseReport {
  readonly name: TuningPhase;
  readonly objective: string;
  readonly trials: readonly { readonly index: number; readonly value: number; readonly point: Point }[];
  readonly best: { readonly index: number; readonly value: number; readonly point: Point };
  /** The first trial (1-based) whose value was within 1% of the best's gain over the start. */
  readonly trialsToNearBest: number;
  /** The start and the search's best on the check half, and which of the two the phase kept. */
  readonly check: PhaseCheck;
}

export interface PhaseCheck {
  /** The start's and the search's best objective on the check half, as the mean over its folds. */
  readonly start: number;
  readonly best: number;
  /** The best's gain over the start, fold by fold. */
  readonly fold_gains: readonly number[];
  readonly kept: "best" | "start";
}

/** A phase's outcome: the point it keeps and why. */
export interface ConfirmedPhase {
  readonly kept: Point;
  readonly check: PhaseCheck;
}

/**
 * How a phase's choice is judged on the check half: its score on each fold of users (means over users, compared fold
 * by fold), and its rails on the whole half (coverage, recall shortfalls: properties of a population, which a fold
 * of a few hundred users would misjudge).
 */
export interface CheckHalf {
  readonly folds: readonly ((point: Point) => number)[];
  readonly rails?: (point: Point) => number;
}

/** The check half is cut into this many folds of users, for a paired comparison of the best and the start. */
export const CHECK_FOLDS = 5;
/** How many standard errors of the fold gains their mean must clear for the best to replace the start. */
export const CHECK_STANDARD_ERRORS = 2;

/**
 * Keeps a phase's best point only when it also beats the phase's start on the check half, users the search never
 * read, by more than CHECK_STANDARD_ERRORS standard errors of its gains over the half's folds: the best of many noisy
 * trials is the likeliest to owe its lead to the users it was measured on, and the start (the defaults, or what the
 * earlier phases kept) is what serving would otherwise get. A gain within the noise of a fold's few hundred users is
 * no reason to move.
 */
export function confirmOnCheckHalf(phase: TuningPhase, result: OptimiseResult, start: Point, check: CheckHalf, log: (line: string) => void): ConfirmedPhase {
  const railsGain = check.rails ? check.rails(result.best.point) - check.rails(start) : 0;
  const starts = check.folds.map((objective) => objective(start));
  const bests = check.folds.map((objective) => objective(result.best.point));
  const gains = bests.map((value, k) => value - (starts[k] as number) + railsGain);
  const k = gains.length;
  const meanGain = gains.reduce((a, b) => a + b, 0) / Math.max(1, k);
  const sd = k > 1 ? Math.sqrt(gains.reduce((a, g) => a + (g - meanGain) ** 2, 0) / (k - 1)) : Number.POSITIVE_INFINITY;
  const keepBest = meanGain > 0 && meanGain > CHECK_STANDARD_ERRORS * (sd / Math.sqrt(k));
  const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const railsOf = (point: Point) => (check.rails ? check.rails(point) : 0);
  const outcome: PhaseCheck = { start: mean(starts) + railsOf(start), best: mean(bests) + railsOf(result.best.point), fold_gains: gains, kept: keepBest ? "best" : "start" };
  log(`${phase}: on the check half the search's best scores ${outcome.best.toFixed(4)} against the start's ${outcome.start.toFixed(4)} (gain ${meanGain.toFixed(4)} ± ${(sd / Math.sqrt(k)).toFixed(4)} over ${k} folds): keeping ${keepBest ? "the best" : "the start"}`);
  return { kept: keepBest ? result.best.point : start, check: outcome };
}

export interface TuningReport {
  readonly method: TuningMethod;
  readonly prior: PriorMethod;
  /** The learned prior's fit, when the prior was learned. */
  readonly exposure_model?: { readonly intercept: number; readonly log_loss: number; readonly positives: number; readonly negatives: number };
  readonly seed: number;
  /** The search half's users (warm among them) and impressions, and the check half's users. */
  readonly users: number;
  readonly warm_users: number;
  readonly impressions: number;
  readonly check_users: number;
  readonly search_space: TuningSearchSpace;
  readonly guard_rails: { readonly gauc_over_item_rate: typeof GAUC_GUARD_RAILS; readonly personalisation: number; readonly coverage_at_population: number };
  readonly popularity: PopularityMeasures;
  readonly phases: readonly PhaseReport[];
  /** Suggested Posts on its check half, at the defaults and tuned (absent when there was no replay). */
  readonly suggested?: { readonly users: number; readonly at_defaults: SuggestedMeasuresOnReplay; readonly tuned: SuggestedMeasuresOnReplay };
  /** The check half's measures at the defaults (the search's start) and at the tuned config. */
  readonly measures_at_defaults: FeedMeasures;
  readonly measures_tuned: FeedMeasures;
  readonly seconds: number;
}

/** The tuned config, and the report the bundle's manifest carries. */
export interface TuningResult {
  readonly config: ServingConfig;
  readonly report: TuningReport;
}

/**
 * Tunes a serving config on a replay of a held-out slice, in four phases, each searching the knobs that its own
 * measure reads:
 * 1. retrieval: the source weights and quotas, by the merged candidates' Recall@1000 (what retrieval is for);
 * 2. value: the value model's task weights, by their smallest margin over the GAUC guard rails on the held-out
 *    impressions (click ≥ item rate + 0.02, long view and like ≥ item rate): the weights decide the order among
 *    items a user is shown;
 * 3. ranking: the prior (exposure, affinity, retrieval score) and the first-stage keep, by the feed's NDCG@10, with
 *    the personalisation guard rail; a trial that misses it is penalised by how far it misses, so the search still
 *    learns from it;
 * 4. suggested: Suggested Posts' value model and its seed types' boosts, by recall@20 of clicks on unfollowed
 *    authors over restricted popularity's (on its own replay of the slice).
 * Seeded and deterministic.
 */
export async function tuneServingConfig(replays: { readonly explore: Replay; readonly suggested?: SuggestedReplay | undefined }, base: ServingConfig, space: TuningSearchSpace, options: TuneOptions): Promise<TuningResult> {
  const { search: replay, check } = splitReplayByUser(replays.explore, options.seed);
  const started = performance.now();
  const log = options.log ?? (() => {});
  log(`searching on ${replay.users.length} users (${replay.impressions.size} impressions), checking each phase's choice on the other ${check.users.length} (${check.impressions.size})`);
  const popularity = popularityMeasures(replay);
  const checkPopularity = popularityMeasures(check);
  const progress = (phase: TuningPhase) => (trial: Trial, best: Trial) => log(`  ${phase} trial ${trial.index + 1}: ${trial.value.toFixed(4)} (best ${best.value.toFixed(4)})`);

  const retrievalObjective = (on: Replay) => (point: Point) => measureRetrieval(on, applyPoint(base, space.retrieval, point)).recall1000;
  const retrievalSearch = await search(toSearchSpace(space.retrieval), retrievalObjective(replay), pointOf(base, space.retrieval), options.trials.retrieval, options, progress("retrieval"));
  const folds = replayFolds(check, CHECK_FOLDS, options.seed);
  const retrieval = confirmOnCheckHalf("retrieval", retrievalSearch, pointOf(base, space.retrieval), { folds: folds.map(retrievalObjective) }, log);
  const sourced = applyPoint(base, space.retrieval, retrieval.kept);
  const sourcedRetrieval = measureRetrieval(replay, sourced);
  log(`retrieval: R@1000 ${sourcedRetrieval.recall1000.toFixed(4)} (${ratio(sourcedRetrieval.recall1000, popularity.recall1000)}× popularity), NDCG@10 ${sourcedRetrieval.ndcg10.toFixed(4)}`);

  const valuePhaseObjective = (on: Replay) => (point: Point) => valueObjective(impressionGaucOverItemRate(on, applyPoint(sourced, space.value, point)));
  const valueSearch = await search(toSearchSpace(space.value), valuePhaseObjective(replay), pointOf(sourced, space.value), options.trials.value, options, progress("value"));
  const value = confirmOnCheckHalf("value", valueSearch, pointOf(sourced, space.value), { folds: folds.map(valuePhaseObjective) }, log);
  const valued = applyPoint(sourced, space.value, value.kept);
  log(`value: GAUC over item rate ${formatGaucs(impressionGaucOverItemRate(replay, valued))} (objective ${valuePhaseObjective(replay)(value.kept).toFixed(4)})`);

  let priored = valued;
  let rankingSpace = space.ranking;
  let exposureFit: ExposureFit | undefined;
  if (options.prior === "learned") {
    exposureFit = fitExposurePrior(replay, valued, { seed: options.seed });
    priored = { ...valued, valueModel: { ...valued.valueModel, ...exposureFit.prior } };
    const learned = new Set(["valueModel.exposureExponent", "valueModel.retrievalExponent", ...Object.keys(exposureFit.prior.sourceWeights).map((name) => `valueModel.sourceWeights.${name}`)]);
    rankingSpace = space.ranking.filter((d) => !learned.has(d.path));
    log(`prior learned as P(shown): α ${exposureFit.prior.exposureExponent.toFixed(3)}, β ${exposureFit.prior.retrievalExponent.toFixed(3)}, γ ${JSON.stringify(exposureFit.prior.sourceWeights)} (${exposureFit.positives} shown, ${exposureFit.negatives} not; log-loss ${exposureFit.logLoss.toFixed(4)})`);
  }
  const cache = new RetrievalCache();
  const checkCache = new RetrievalCache();
  const sourcedCheck = measureRetrieval(check, sourced);
  const rankingSearch = await search(toSearchSpace(rankingSpace), (point: Point) => penalisedObjective(measureFeed(replay, applyPoint(priored, rankingSpace, point), sourcedRetrieval, cache), popularity), pointOf(priored, rankingSpace), options.trials.ranking, options, progress("ranking"));
  const rankingOnFold = (fold: Replay) => {
    const foldPopularity = popularityMeasures(fold);
    const foldRetrieval = measureRetrieval(fold, sourced);
    return (point: Point) => feedObjectiveParts(measureFeed(fold, applyPoint(priored, rankingSpace, point), foldRetrieval, checkCache), foldPopularity).score;
  };
  const rankingRails = (point: Point) => feedObjectiveParts(measureFeed(check, applyPoint(priored, rankingSpace, point), sourcedCheck, checkCache), checkPopularity).rails;
  const ranking = confirmOnCheckHalf("ranking", rankingSearch, pointOf(priored, rankingSpace), { folds: folds.map(rankingOnFold), rails: rankingRails }, log);
  const ranked = applyPoint(priored, rankingSpace, ranking.kept);
  // the report's measures are the check half's: the search half's are biased upwards by the search itself
  const tuned = measureFeed(check, ranked, sourcedCheck, checkCache);
  const defaults = measureFeed(check, base);
  log(`ranking: feed NDCG@10 on the check half ${tuned.feedNdcg10.toFixed(4)} (${ratio(tuned.feedNdcg10, checkPopularity.ndcg10)}× popularity; defaults ${ratio(defaults.feedNdcg10, checkPopularity.ndcg10)}×), coverage ${tuned.coverage.toFixed(3)} (${tuned.coverageAtPopulation.toFixed(3)} at the slice's ${check.population} users), personalisation ${tuned.personalisation.toFixed(3)}, guard-rail deficit ${guardRailDeficit(tuned).toFixed(4)}`);

  // Suggested Posts: its value model and the seed types' boosts, by recall@20 of held-out clicks on unfollowed
  // authors over restricted popularity's, with recall at the whole list kept at least popularity's
  let config = ranked;
  let suggestedPhase: OptimiseResult | undefined;
  let suggestedConfirmed: ConfirmedPhase | undefined;
  let suggestedReport: TuningReport["suggested"];
  if (replays.suggested && replays.suggested.users.length > 0) {
    const all = replays.suggested;
    const suggestedSearch: SuggestedReplay = { ...all, users: all.users.filter((user) => inSearchHalf(user.userRow, options.seed)) };
    const suggestedCheck: SuggestedReplay = { ...all, users: all.users.filter((user) => !inSearchHalf(user.userRow, options.seed)) };
    const objective = (on: SuggestedReplay) => (point: Point) => suggestedObjective(measureSuggested(on, applyPoint(ranked, space.suggested, point)));
    suggestedPhase = await search(toSearchSpace(space.suggested), objective(suggestedSearch), pointOf(ranked, space.suggested), options.trials.suggested, options, progress("suggested"));
    const suggestedFolds = Array.from({ length: CHECK_FOLDS }, (_, fold): SuggestedReplay => ({ ...suggestedCheck, users: suggestedCheck.users.filter((user) => foldOfUser(user.userRow, CHECK_FOLDS, options.seed) === fold) }));
    const suggestedParts = (on: SuggestedReplay) => (point: Point) => suggestedObjectiveParts(measureSuggested(on, applyPoint(ranked, space.suggested, point)));
    suggestedConfirmed = confirmOnCheckHalf("suggested", suggestedPhase, pointOf(ranked, space.suggested), { folds: suggestedFolds.map((fold) => (point: Point) => suggestedParts(fold)(point).score), rails: (point: Point) => suggestedParts(suggestedCheck)(point).rails }, log);
    config = applyPoint(ranked, space.suggested, suggestedConfirmed.kept);
    const suggestedReplay = suggestedCheck;
    suggestedReport = { users: suggestedReplay.users.length, at_defaults: measureSuggested(suggestedReplay, base), tuned: measureSuggested(suggestedReplay, config) };
    log(`suggested: recall@20 ${suggestedReport.tuned.recall20.toFixed(4)} (restricted popularity ${suggestedReport.tuned.popularityRecall20.toFixed(4)}, defaults ${suggestedReport.at_defaults.recall20.toFixed(4)}), recall@${SUGGESTED_LIST} ${suggestedReport.tuned.recallList.toFixed(4)} (popularity ${suggestedReport.tuned.popularityRecallList.toFixed(4)})`);
    const { tuned, at_defaults } = suggestedReport;
    log(`suggested Home-likeness: media-type TV ${tuned.typeMixTv.toFixed(4)} (popularity ${tuned.popularityTypeMixTv.toFixed(4)}, defaults ${at_defaults.typeMixTv.toFixed(4)}), age distance (W1) ${tuned.ageDistanceHours.toFixed(1)} h (popularity ${tuned.popularityAgeDistanceHours.toFixed(1)}, defaults ${at_defaults.ageDistanceHours.toFixed(1)})`);
  }

  const warm = replay.users.filter((user) => user.warm).length;
  return {
    config,
    report: {
      method: options.method,
      prior: options.prior ?? "searched",
      ...(exposureFit ? { exposure_model: { intercept: exposureFit.intercept, log_loss: exposureFit.logLoss, positives: exposureFit.positives, negatives: exposureFit.negatives } } : {}),
      seed: options.seed,
      users: replay.users.length,
      warm_users: warm,
      impressions: replay.impressions.size,
      check_users: check.users.length,
      search_space: space,
      guard_rails: { gauc_over_item_rate: GAUC_GUARD_RAILS, personalisation: FEED_GUARD_RAILS.personalisation, coverage_at_population: FEED_GUARD_RAILS.coverage },
      popularity,
      phases: [
        phaseReport("retrieval", "merged candidates' Recall@1000 of held-out clicks", retrievalSearch, retrieval),
        phaseReport("value", "the like GAUC's margin over its rail + 10 × the click and long-view rails' shortfalls", valueSearch, value),
        phaseReport("ranking", "feed NDCG@10 ÷ popularity's + 0.1 × feed Recall@100 ÷ popularity's − 10 × the personalisation and coverage rails' shortfall", rankingSearch, ranking),
        ...(suggestedPhase ? [phaseReport("suggested", "Suggested Posts' recall@20 ÷ restricted popularity's − 10 × the shortfall of recall@100 under popularity's + 0.1 × its Home-likeness gains over popularity's (media-type TV, age distance) − 10 × any loss", suggestedPhase, suggestedConfirmed)] : []),
      ],
      ...(suggestedReport ? { suggested: suggestedReport } : {}),
      measures_at_defaults: defaults,
      measures_tuned: tuned,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

/**
 * The value phase's objective: the like margin over its rail, with the click and long-view rails first (a shortfall
 * there costs ten times as much). The rails can conflict: a like ranks among what a user is shown much as an item's
 * like rate does, unlike a click, so weighting P(like) enough to beat the like rate costs click GAUC
 * (models/README.md has the measured front). Clicks and long views are the primary engagement, so their rails win.
 */
export function valueObjective(gaucOverItemRate: Readonly<Partial<Record<Label, number>>>): number {
  const margin = (label: Label) => {
    const over = gaucOverItemRate[label];
    return over === undefined ? 0 : over - (GAUC_GUARD_RAILS[label] ?? 0);
  };
  return margin("like") + 10 * Math.min(0, margin("click")) + 10 * Math.min(0, margin("long_view"));
}

function formatGaucs(gaucs: Readonly<Partial<Record<Label, number>>>): string {
  return Object.entries(gaucs).map(([label, value]) => `${label} ${value >= 0 ? "+" : ""}${value.toFixed(4)}`).join(", ");
}

/**
 * How much the Suggested Posts phase rewards a list more Home-like than restricted popularity's (its media-type mix
 * and its age, each as a relative gain), beside recall: little, so recall decides, but enough to choose among points
 * that recall alike the one that feels more like Home.
 */
export const HOME_LIKENESS_WEIGHT = 0.1;

/**
 * The Suggested Posts phase's objective: recall@20 over restricted popularity's, minus 10× its shortfall under
 * popularity's at 20 and at the whole list (both rails: a list more Home-like than popularity's but recalling less
 * than it is not what the Home terms are for), plus HOME_LIKENESS_WEIGHT × the list's Home-likeness gains over popularity's, minus 10× any loss
 * (a list less Home-like than popularity's is a rail, like the recall at the whole list).
 */
export function suggestedObjective(measures: SuggestedMeasuresOnReplay): number {
  const { score, rails } = suggestedObjectiveParts(measures);
  return score + rails;
}

/**
 * `suggestedObjective` in two parts: the score (the page's recall and Home-likeness gains, means over users, so they
 * can be compared fold by fold) and the rails (the shortfalls, judged on a whole population).
 */
export function suggestedObjectiveParts(measures: SuggestedMeasuresOnReplay): ObjectiveParts {
  const page = measures.recall20 / Math.max(measures.popularityRecall20, 1e-9);
  const listShortfall = Math.max(0, measures.popularityRecallList - measures.recallList) / Math.max(measures.popularityRecallList, 1e-9);
  const gain = (ours: number, popularity: number) => (popularity > 0 ? (popularity - ours) / popularity : 0);
  const typeMix = gain(measures.typeMixTv, measures.popularityTypeMixTv);
  const age = gain(measures.ageDistanceHours, measures.popularityAgeDistanceHours);
  const pageShortfall = Math.max(0, 1 - page);
  return { score: page + HOME_LIKENESS_WEIGHT * (typeMix + age), rails: -10 * pageShortfall - 10 * listShortfall + 10 * Math.min(0, typeMix) + 10 * Math.min(0, age) };
}

/** An objective as a score that averages over users, plus rails that hold for a whole population. */
export interface ObjectiveParts {
  readonly score: number;
  readonly rails: number;
}

/**
 * How much the ranking phase's objective weighs the page's Recall@100 (over popularity's) beside its NDCG@10: little,
 * so the head decides, but enough that among exploration tails that keep the rails the one recalling more wins.
 */
export const PAGE_RECALL_WEIGHT = 0.1;

/**
 * The ranking phase's objective: the feed's NDCG@10 over popularity's, plus PAGE_RECALL_WEIGHT × its Recall@100 over
 * popularity's, minus 10× the feed rails' shortfall.
 */
export function penalisedObjective(measures: FeedMeasures, popularity: PopularityMeasures): number {
  const { score, rails } = feedObjectiveParts(measures, popularity);
  return score + rails;
}

/** `penalisedObjective` in two parts: the score (NDCG@10 and Recall@100, means over users) and the rails. */
export function feedObjectiveParts(measures: FeedMeasures, popularity: PopularityMeasures): ObjectiveParts {
  return { score: measures.feedNdcg10 / Math.max(popularity.ndcg10, 1e-9) + PAGE_RECALL_WEIGHT * measures.feedRecall100 / Math.max(popularity.recall100, 1e-9), rails: -10 * feedRailDeficit(measures) };
}

/** Popularity's measures on the replay's users: the reference every ratio is against. */
export function popularityMeasures(replay: Replay): PopularityMeasures {
  let recall = 0;
  let recall100 = 0;
  let ndcg = 0;
  for (const user of replay.users) {
    recall += recallAtK(replay.popularity, user.positives, 1000);
    recall100 += recallAtK(replay.popularity, user.positives, 100);
    ndcg += ndcgAtK(replay.popularity, user.positives, 10);
  }
  const n = Math.max(1, replay.users.length);
  return { recall1000: recall / n, recall100: recall100 / n, ndcg10: ndcg / n };
}

async function search(space: SearchSpace, objective: (point: Point) => number, start: Point, trials: number, options: TuneOptions, onTrial: (trial: Trial, best: Trial) => void): Promise<OptimiseResult> {
  switch (options.method) {
    case "bayesian":
      return maximise(space, objective, { trials, seed: options.seed, start: [start], onTrial });
    case "random":
      return randomSearch(space, objective, { trials, seed: options.seed });
    case "grid":
      return gridSearch(space, objective, start, trials, onTrial);
  }
}

/**
 * The baseline the Bayesian search is compared with: a full-factorial grid over as many dimensions (in the space's
 * order) as the budget affords at three levels each, the others held at the start point.
 */
async function gridSearch(space: SearchSpace, objective: (point: Point) => number, start: Point, trials: number, onTrial: (trial: Trial, best: Trial) => void): Promise<OptimiseResult> {
  const levels = [0.1, 0.5, 0.9];
  const searched = Math.max(1, Math.min(space.length, Math.floor(Math.log(Math.max(1, trials)) / Math.log(levels.length))));
  const out: Trial[] = [];
  let best: Trial | undefined;
  const total = levels.length ** searched;
  for (let combination = 0; combination < total && out.length < trials; combination++) {
    const point: Record<string, number> = { ...start };
    let rest = combination;
    for (let d = 0; d < searched; d++) {
      const dimension = space[d] as Dimension;
      point[dimension.name] = atUnit(dimension, levels[rest % levels.length] as number);
      rest = Math.floor(rest / levels.length);
    }
    const trial: Trial = { index: out.length, point, value: objective(point), phase: "initial" };
    out.push(trial);
    if (!best || trial.value > best.value) best = trial;
    onTrial(trial, best);
  }
  return { best: best as Trial, trials: out };
}

function atUnit(dimension: Dimension, unit: number): number {
  const value = dimension.scale === "log" ? Math.exp(Math.log(dimension.low) + unit * (Math.log(dimension.high) - Math.log(dimension.low))) : dimension.low + unit * (dimension.high - dimension.low);
  return dimension.integer ? Math.round(value) : value;
}

function phaseReport(name: PhaseReport["name"], objective: string, result: OptimiseResult, confirmedPhase?: ConfirmedPhase): PhaseReport {
  const first = result.trials[0];
  const gain = result.best.value - (first?.value ?? result.best.value);
  const near = result.trials.find((trial) => trial.value >= result.best.value - Math.abs(gain) * 0.01) ?? result.best;
  const round = (value: number) => Number(value.toPrecision(6));
  const roundPoint = (point: Point) => Object.fromEntries(Object.entries(point).map(([key, value]) => [key, round(value)]));
  return {
    name,
    objective,
    trials: result.trials.map((trial) => ({ index: trial.index, value: round(trial.value), point: roundPoint(trial.point) })),
    best: { index: result.best.index, value: round(result.best.value), point: roundPoint(result.best.point) },
    trialsToNearBest: near.index + 1,
    check: confirmedPhase ? { start: round(confirmedPhase.check.start), best: round(confirmedPhase.check.best), fold_gains: confirmedPhase.check.fold_gains.map(round), kept: confirmedPhase.check.kept } : { start: round(first?.value ?? result.best.value), best: round(result.best.value), fold_gains: [], kept: "best" },
  };
}

function toSearchSpace(dimensions: TuningSearchSpace["retrieval"]): SearchSpace {
  return dimensions.map((d) => ({ name: d.path, low: d.low, high: d.high, ...(d.scale ? { scale: d.scale } : {}), ...(d.integer ? { integer: d.integer } : {}) }));
}

/** The config's current values of the searched paths (clamped into their bounds: the search's start point). */
export function pointOf(config: ServingConfig, dimensions: TuningSearchSpace["retrieval"]): Point {
  return Object.fromEntries(dimensions.map((d) => {
    const value = readPath(config, d.path);
    return [d.path, Math.min(d.high, Math.max(d.low, value))];
  }));
}

/** A copy of the config with the point's values written at their paths, validated as a whole. */
export function applyPoint(config: ServingConfig, dimensions: TuningSearchSpace["retrieval"], point: Point): ServingConfig {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const d of dimensions) {
    const value = point[d.path];
    if (value === undefined) throw new Error(`tuning: the point has no value for ${d.path}`);
    writePath(copy, d.path, d.integer ? Math.round(value) : value);
  }
  return parseServingConfig(copy, "the tuned config");
}

/** Checks every path of the space names a number in the config (so a typo fails the pipeline, not a trial). */
export function checkSearchSpace(config: ServingConfig, space: TuningSearchSpace): void {
  for (const d of [...space.retrieval, ...space.value, ...space.ranking, ...space.suggested]) {
    readPath(config, d.path);
    if (!(d.low < d.high)) throw new Error(`search space: ${d.path}: low ${d.low} must be below high ${d.high}`);
  }
}

function readPath(config: ServingConfig, path: string): number {
  let node: unknown = config;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) throw new Error(`search space: ${path} is not a setting of the serving config`);
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node !== "number") throw new Error(`search space: ${path} is not a number in the serving config`);
  return node;
}

function writePath(target: Record<string, unknown>, path: string, value: number): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys[keys.length - 1] as string] = value;
}

function ratio(value: number, reference: number): string {
  return (value / Math.max(reference, 1e-12)).toFixed(3);
}
