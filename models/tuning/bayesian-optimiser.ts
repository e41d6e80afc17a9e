// Bayesian optimisation of an expensive objective over a small search space (~10–20 knobs, tens to ~100 trials).
//
// A space-filling initial design (any `start` points, then a scrambled Latin hypercube), then one trial at a time: fit a
// Gaussian process to every trial so far and evaluate the point of highest expected improvement. The maths (GP, EI)
// lives in gaussian-process.ts; this file is the bookkeeping: the trial log, candidate generation, duplicates, seeds.
//
// Determinism: every random draw comes from one mulberry32 stream seeded by `seed`, and trials run one after another,
// so the same seed, space and objective give the same trials bit for bit.

import { createRandom } from "../../core/util/random";
import { fitGaussianProcess, logExpectedImprovement, predict } from "./gaussian-process";
import { checkPoint, fromUnit, toUnit, validateSearchSpace, type Point, type SearchSpace } from "./search-space";

export interface Trial {
  /** Position in evaluation order, from 0. */
  readonly index: number;
  readonly point: Point;
  readonly value: number;
  /** "initial" for start points, the space-filling design and random search; "model" for GP proposals. */
  readonly phase: "initial" | "model";
}

export interface OptimiseOptions {
  /** Total number of objective evaluations, start points included. */
  readonly trials: number;
  readonly seed: number;
  /** Size of the initial design, start points included: default max(2·dimensions, 8), capped at `trials`. */
  readonly initialPoints?: number;
  /** Points evaluated first, as given (e.g. the current defaults); each must lie in the space. */
  readonly start?: readonly Point[];
  /** Called after each trial with the best trial so far (possibly the same one). */
  readonly onTrial?: (trial: Trial, best: Trial) => void;
}

export interface OptimiseResult {
  /** The trial with the highest value; the earliest on ties. */
  readonly best: Trial;
  /** Every trial, in evaluation order. May be shorter than asked only if the space has fewer distinct points. */
  readonly trials: readonly Trial[];
}

export type Objective = (point: Point) => Promise<number> | number;

/** ξ: EI counts only improvements beyond the incumbent by this many standard deviations of the observed values. */
const EXPLORATION_MARGIN = 0.01;
const RANDOM_CANDIDATES = 2000;
/** The best trials' neighbourhoods get extra candidates: the optimum is usually near one of them. */
const PERTURBED_TRIALS = 5;
const PERTURBATIONS_PER_TRIAL = 100;
/** Perturbation sizes in unit-cube coordinates, cycled so that each neighbourhood is probed near and far. */
const PERTURBATION_SCALES = [0.01, 0.03, 0.1, 0.3];
const LOCAL_SEARCH_STARTS = 3;
const LOCAL_SEARCH_STEPS = 30;
/** Random draws tried before concluding that every distinct point of a (small, integer) space has been evaluated. */
const UNSEEN_POINT_ATTEMPTS = 1000;
/** Latin hypercubes drawn for the initial design; the one whose closest pair is farthest apart is used. */
const DESIGN_CANDIDATES = 20;

/** Maximises `objective` over `space`. */
export async function maximise(space: SearchSpace, objective: Objective, options: OptimiseOptions): Promise<OptimiseResult> {
  validateSearchSpace(space);
  checkBudget("maximise", options.trials, options.seed);
  const start = (options.start ?? []).map((point, index) => checkPoint(space, point, `maximise: start point ${index}`));
  if (start.length > options.trials) throw new Error(`maximise: ${start.length} start points exceed the budget of ${options.trials} trials`);
  if (options.initialPoints !== undefined && !(Number.isInteger(options.initialPoints) && options.initialPoints >= 1)) {
    throw new Error(`maximise: initialPoints must be a positive integer, got ${options.initialPoints}`);
  }
  const initialPoints = Math.max(start.length, Math.min(options.trials, options.initialPoints ?? Math.max(2 * space.length, 8)));

  const random = createRandom(options.seed);
  const log = new TrialLog(space, objective, options.onTrial);
  for (const point of start) await log.evaluate(point, "initial");
  for (const unit of latinHypercube(initialPoints - start.length, space.length, random)) {
    const designed = fromUnit(space, unit);
    // integer rounding can merge design points (or hit a start point): replace those rather than repeat them
    const point = log.isNew(designed) ? designed : unseenRandomPoint(space, log, random);
    if (!point) return log.result();
    await log.evaluate(point, "initial");
  }
  while (log.trials.length < options.trials) {
    const point = proposeByExpectedImprovement(space, log, random) ?? unseenRandomPoint(space, log, random);
    if (!point) break;
    await log.evaluate(point, "model");
  }
  return log.result();
}

/** Uniform random search with the same budget, seeding and duplicate rule: the baseline `maximise` must beat. */
export async function randomSearch(space: SearchSpace, objective: Objective, options: { readonly trials: number; readonly seed: number }): Promise<OptimiseResult> {
  validateSearchSpace(space);
  checkBudget("randomSearch", options.trials, options.seed);
  const random = createRandom(options.seed);
  const log = new TrialLog(space, objective, undefined);
  while (log.trials.length < options.trials) {
    const point = unseenRandomPoint(space, log, random);
    if (!point) break;
    await log.evaluate(point, "initial");
  }
  return log.result();
}

// ---- bookkeeping ---------------------------------------------------------------------------------------------------

/** The trials so far, their unit-cube coordinates for the GP, the set of evaluated points, and the incumbent. */
class TrialLog {
  readonly trials: Trial[] = [];
  readonly units: Float64Array[] = [];
  private readonly seen = new Set<string>();
  private best: Trial | undefined;

  constructor(
    private readonly space: SearchSpace,
    private readonly objective: Objective,
    private readonly onTrial: ((trial: Trial, best: Trial) => void) | undefined,
  ) {}

  isNew(point: Point): boolean {
    return !this.seen.has(pointKey(this.space, point));
  }

  async evaluate(point: Point, phase: Trial["phase"]): Promise<Trial> {
    const index = this.trials.length;
    const value = await this.objective(point);
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new Error(`trial ${index} (${phase}) returned a non-finite objective value ${String(value)} at ${JSON.stringify(point)}`);
    }
    const trial: Trial = { index, point, value, phase };
    this.trials.push(trial);
    this.units.push(toUnit(this.space, point));
    this.seen.add(pointKey(this.space, point));
    if (!this.best || value > this.best.value) this.best = trial;
    this.onTrial?.(trial, this.best);
    return trial;
  }

  /** The trials with the highest values, best first. */
  leaders(count: number): Trial[] {
    return [...this.trials].sort((a, b) => b.value - a.value || a.index - b.index).slice(0, count);
  }

  result(): OptimiseResult {
    if (!this.best) throw new Error("no trial was evaluated");
    return { best: this.best, trials: this.trials };
  }
}

/** Identity of a point for the never-evaluate-twice rule; integer dimensions are already rounded, so equal knobs match. */
function pointKey(space: SearchSpace, point: Point): string {
  return space.map((dimension) => point[dimension.name]).join(",");
}

function checkBudget(caller: string, trials: number, seed: number): void {
  if (!Number.isInteger(trials) || trials < 1) throw new Error(`${caller}: trials must be a positive integer, got ${trials}`);
  if (!Number.isFinite(seed)) throw new Error(`${caller}: seed must be finite, got ${seed}`);
}

// ---- proposals -----------------------------------------------------------------------------------------------------

/** A candidate location, snapped onto the space's grid (integers rounded), with its log expected improvement. */
interface Candidate {
  readonly unit: Float64Array;
  readonly score: number;
}

/**
 * The unevaluated point of highest expected improvement under a GP fitted to every trial: scored over random points
 * and perturbations of the best trials, the best few then refined by a local search. Null if every candidate is a
 * point already evaluated.
 */
function proposeByExpectedImprovement(space: SearchSpace, log: TrialLog, random: () => number): Point | null {
  const dimensions = space.length;
  const inputs = new Float64Array(log.units.length * dimensions);
  log.units.forEach((unit, row) => inputs.set(unit, row * dimensions));
  const model = fitGaussianProcess(inputs, log.trials.map((trial) => trial.value), dimensions);
  const threshold = (log.leaders(1)[0] as Trial).value + EXPLORATION_MARGIN * model.targetScale;
  const score = (units: readonly Float64Array[]): Candidate[] => {
    const batch = new Float64Array(units.length * dimensions);
    units.forEach((unit, row) => batch.set(unit, row * dimensions));
    const { mean, variance } = predict(model, batch);
    return units.map((unit, row) => ({ unit, score: logExpectedImprovement(mean[row] as number, Math.sqrt(variance[row] as number), threshold) }));
  };

  const snap = (unit: ArrayLike<number>): Float64Array => toUnit(space, fromUnit(space, unit));
  const starts: Float64Array[] = [];
  for (let index = 0; index < RANDOM_CANDIDATES; index++) starts.push(snap(Array.from({ length: dimensions }, random)));
  for (const leader of log.leaders(PERTURBED_TRIALS)) {
    const centre = log.units[leader.index] as Float64Array;
    for (let index = 0; index < PERTURBATIONS_PER_TRIAL; index++) {
      starts.push(snap(perturb(centre, PERTURBATION_SCALES[index % PERTURBATION_SCALES.length] as number, random)));
    }
  }
  const candidates = score(starts).sort(byScore);
  const refined = candidates.slice(0, LOCAL_SEARCH_STARTS).map((candidate) => localSearch(candidate, snap, score, random));

  for (const candidate of [...refined, ...candidates].sort(byScore)) {
    const point = fromUnit(space, candidate.unit);
    if (log.isNew(point)) return point;
  }
  return null;
}

/** Highest score first; the sort is stable, so ties (−∞ included) keep generation order and the result stays deterministic. */
function byScore(a: Candidate, b: Candidate): number {
  return a.score > b.score ? -1 : a.score < b.score ? 1 : 0;
}

/**
 * (1+1) hill climbing on the acquisition: Gaussian steps that widen after a success and narrow after a failure, so the
 * search settles into the peak's own width. Returns the best candidate met (the start if nothing beat it).
 */
function localSearch(
  start: Candidate, snap: (unit: ArrayLike<number>) => Float64Array, score: (units: readonly Float64Array[]) => Candidate[], random: () => number,
): Candidate {
  let current = start;
  let stepSize = 0.05;
  for (let step = 0; step < LOCAL_SEARCH_STEPS; step++) {
    const challenger = score([snap(perturb(current.unit, stepSize, random))])[0] as Candidate;
    if (challenger.score > current.score) {
      current = challenger;
      stepSize = Math.min(0.2, stepSize * 1.5);
    } else {
      stepSize = Math.max(1e-3, stepSize * 0.7);
    }
  }
  return current;
}

/**
 * A Gaussian step of size `scale` in a few coordinates (each with probability 2/d, at least one): moving every knob at
 * once in 20 dimensions almost always lands somewhere worse, while moving a couple can be tested cheaply by the model.
 */
function perturb(centre: Float64Array, scale: number, random: () => number): Float64Array {
  const dimensions = centre.length;
  const moved = centre.slice();
  const probability = Math.min(1, 2 / dimensions);
  const forced = Math.floor(random() * dimensions);
  for (let dimension = 0; dimension < dimensions; dimension++) {
    if (dimension === forced || random() < probability) {
      moved[dimension] = Math.min(1, Math.max(0, (moved[dimension] as number) + scale * standardNormal(random)));
    }
  }
  return moved;
}

/** Box–Muller; 1 − u keeps the logarithm's argument in (0, 1]. */
function standardNormal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

// ---- designs -------------------------------------------------------------------------------------------------------

/**
 * `count` points in the unit cube, one in each of `count` equal slices of every coordinate (a Latin hypercube), placed
 * at random within their slices; of several such designs, the one whose closest two points are farthest apart.
 */
function latinHypercube(count: number, dimensions: number, random: () => number): Float64Array[] {
  let best: Float64Array[] = [];
  let bestSeparation = -1;
  for (let attempt = 0; attempt < (count > 1 ? DESIGN_CANDIDATES : 1); attempt++) {
    const design = Array.from({ length: count }, () => new Float64Array(dimensions));
    for (let dimension = 0; dimension < dimensions; dimension++) {
      const slices = shuffledRange(count, random);
      design.forEach((point, index) => {
        point[dimension] = ((slices[index] as number) + random()) / count;
      });
    }
    const separation = smallestSquaredDistance(design);
    if (separation > bestSeparation) {
      best = design;
      bestSeparation = separation;
    }
  }
  return best;
}

function shuffledRange(count: number, random: () => number): Int32Array {
  const values = Int32Array.from({ length: count }, (_, index) => index);
  for (let index = count - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    const value = values[index] as number;
    values[index] = values[other] as number;
    values[other] = value;
  }
  return values;
}

function smallestSquaredDistance(points: readonly Float64Array[]): number {
  let smallest = Infinity;
  for (let first = 1; first < points.length; first++) {
    for (let second = 0; second < first; second++) {
      let squaredDistance = 0;
      const a = points[first] as Float64Array;
      const b = points[second] as Float64Array;
      for (let dimension = 0; dimension < a.length; dimension++) squaredDistance += ((a[dimension] as number) - (b[dimension] as number)) ** 2;
      smallest = Math.min(smallest, squaredDistance);
    }
  }
  return smallest;
}

/** A uniformly random point not evaluated yet, or null if `UNSEEN_POINT_ATTEMPTS` draws all hit evaluated points. */
function unseenRandomPoint(space: SearchSpace, log: TrialLog, random: () => number): Point | null {
  for (let attempt = 0; attempt < UNSEEN_POINT_ATTEMPTS; attempt++) {
    const point = fromUnit(space, Array.from({ length: space.length }, random));
    if (log.isNew(point)) return point;
  }
  return null;
}
