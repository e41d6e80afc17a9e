// The offline tuner's optimiser: search-space mapping, the Gaussian process it rests on, and Bayesian optimisation
// itself on standard test functions with known optima, always against random search at the same budget.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRandom } from "../../../core/util/random";
import { maximise, randomSearch, type OptimiseResult } from "../../../models/tuning/bayesian-optimiser";
import { fitGaussianProcess, logExpectedImprovement, normalCdf, predict } from "../../../models/tuning/gaussian-process";
import { fromUnit, toUnit, validateSearchSpace, type Point, type SearchSpace } from "../../../models/tuning/search-space";

// ---- test functions (minimised; the optimiser maximises their negatives) --------------------------------------------

const BRANIN_MINIMUM = 0.397887;
const braninSpace: SearchSpace = [{ name: "x1", low: -5, high: 10 }, { name: "x2", low: 0, high: 15 }];
function branin(point: Point): number {
  const x1 = point.x1 as number;
  const x2 = point.x2 as number;
  const b = 5.1 / (4 * Math.PI * Math.PI);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

const HARTMANN_ALPHA = [1, 1.2, 3, 3.2];
const HARTMANN3_A = [[3, 10, 30], [0.1, 10, 35], [3, 10, 30], [0.1, 10, 35]];
const HARTMANN3_P = [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]];
const HARTMANN6_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]];
const HARTMANN6_P = [
  [1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381],
];
const HARTMANN3_MINIMUM = -3.86278;
const HARTMANN6_MINIMUM = -3.32237;

function unitCube(dimensions: number): SearchSpace {
  return Array.from({ length: dimensions }, (_, index) => ({ name: `x${index}`, low: 0, high: 1 }));
}

function hartmann(a: readonly number[][], p: readonly number[][]): (point: Point) => number {
  return (point) => {
    let value = 0;
    for (let term = 0; term < 4; term++) {
      let exponent = 0;
      const weights = a[term] as number[];
      const centre = p[term] as number[];
      for (let dimension = 0; dimension < weights.length; dimension++) {
        exponent += (weights[dimension] as number) * ((point[`x${dimension}`] as number) - (centre[dimension] as number) * 1e-4) ** 2;
      }
      value -= (HARTMANN_ALPHA[term] as number) * Math.exp(-exponent);
    }
    return value;
  };
}
const hartmann3 = hartmann(HARTMANN3_A, HARTMANN3_P);
const hartmann6 = hartmann(HARTMANN6_A, HARTMANN6_P);

/** 10 knobs like a serving config's: six continuous, three integer, one log-scale; minimum 0, away from the centre. */
const sphereSpace: SearchSpace = [
  ...Array.from({ length: 6 }, (_, index) => ({ name: `weight${index}`, low: -5, high: 5 })),
  ...Array.from({ length: 3 }, (_, index) => ({ name: `quota${index}`, low: 0, high: 40, integer: true })),
  { name: "rate", low: 1e-3, high: 10, scale: "log" },
];
const SPHERE_WEIGHTS = [1.3, -2.1, 0.7, 2.9, -3.4, 3.8];
const SPHERE_QUOTAS = [27, 9, 33];
function shiftedSphere(point: Point): number {
  let value = 0;
  SPHERE_WEIGHTS.forEach((centre, index) => { value += ((point[`weight${index}`] as number) - centre) ** 2 / 100; });
  SPHERE_QUOTAS.forEach((centre, index) => { value += ((point[`quota${index}`] as number) - centre) ** 2 / 1600; });
  return value + (Math.log10(point.rate as number) - Math.log10(0.05)) ** 2 / 16;
}

const SEEDS = [1, 2, 3];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** The smallest function value each method finds on each seed (the optimiser maximises −f). */
async function minimaOverSeeds(space: SearchSpace, f: (point: Point) => number, trials: number): Promise<{ optimiser: number[]; random: number[] }> {
  const optimiser: number[] = [];
  const random: number[] = [];
  for (const seed of SEEDS) {
    const result = await maximise(space, (point) => -f(point), { trials, seed });
    expect(result.trials).toHaveLength(trials);
    optimiser.push(-result.best.value);
    random.push(-(await randomSearch(space, (point) => -f(point), { trials, seed })).best.value);
  }
  return { optimiser, random };
}

function pointKeys(result: OptimiseResult): string[] {
  return result.trials.map((trial) => JSON.stringify(trial.point));
}

// ---- search space ---------------------------------------------------------------------------------------------------

describe("search space", () => {
  const space: SearchSpace = [
    { name: "weight", low: -2, high: 6 },
    { name: "learningRate", low: 1e-4, high: 1, scale: "log" },
    { name: "quota", low: 10, high: 1000, integer: true },
    { name: "fanout", low: 1, high: 1024, scale: "log", integer: true },
  ];

  it("maps linear and log dimensions to the unit cube and back", () => {
    const unit = toUnit(space, { weight: 2, learningRate: 0.01, quota: 505, fanout: 32 });
    expect(unit[0]).toBeCloseTo(0.5, 12);
    expect(unit[1]).toBeCloseTo(0.5, 12); // 0.01 is the geometric middle of [1e-4, 1]
    expect(unit[2]).toBeCloseTo(0.5, 12);
    expect(unit[3]).toBeCloseTo(0.5, 12);
    const point = fromUnit(space, [0.25, 0.75, 0, 1]);
    expect(point.weight).toBeCloseTo(0, 12);
    expect(point.learningRate).toBeCloseTo(0.1, 12);
    expect(point).toMatchObject({ quota: 10, fanout: 1024 });
  });

  it("round-trips every point of the space, and every unit vector up to integer rounding", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }), (coordinates) => {
        const point = fromUnit(space, coordinates);
        for (const dimension of space) {
          const value = point[dimension.name] as number;
          expect(value).toBeGreaterThanOrEqual(dimension.low);
          expect(value).toBeLessThanOrEqual(dimension.high);
          if (dimension.integer) expect(Number.isInteger(value)).toBe(true);
        }
        const back = fromUnit(space, toUnit(space, point));
        expect(back.weight).toBeCloseTo(point.weight as number, 10);
        expect((back.learningRate as number) / (point.learningRate as number)).toBeCloseTo(1, 10);
        expect(back.quota).toBe(point.quota);
        expect(back.fanout).toBe(point.fanout);
        const unit = toUnit(space, point);
        expect(unit[0]).toBeCloseTo(coordinates[0] as number, 10);
        expect(unit[1]).toBeCloseTo(coordinates[1] as number, 10);
      }),
    );
  });

  it("maps every integer of a log-scale integer dimension back to itself", () => {
    const integers: SearchSpace = [{ name: "fanout", low: 1, high: 1024, scale: "log", integer: true }];
    for (let value = 1; value <= 1024; value++) expect(fromUnit(integers, toUnit(integers, { fanout: value })).fanout).toBe(value);
  });

  it("clamps coordinates and values outside the bounds", () => {
    expect(fromUnit(space, [-1, 2, -0.5, 7])).toEqual({ weight: -2, learningRate: 1, quota: 10, fanout: 1024 });
    expect(Array.from(toUnit(space, { weight: 100, learningRate: 1e-9, quota: 10, fanout: 1 }))).toEqual([1, 0, 0, 0]);
    // integer bounds that are not integers themselves: rounding must not leave [low, high]
    expect(fromUnit([{ name: "n", low: 0.6, high: 3.4, integer: true }], [0])).toEqual({ n: 1 });
    expect(fromUnit([{ name: "n", low: 0.6, high: 3.4, integer: true }], [1])).toEqual({ n: 3 });
  });

  it("rejects invalid spaces with an error naming the dimension", () => {
    expect(() => validateSearchSpace(space)).not.toThrow();
    expect(() => validateSearchSpace([{ name: "flat", low: 1, high: 1 }])).toThrow(/"flat".*low < high/);
    expect(() => validateSearchSpace([{ name: "backwards", low: 2, high: 1 }])).toThrow(/"backwards"/);
    expect(() => validateSearchSpace([{ name: "unbounded", low: 0, high: Infinity }])).toThrow(/"unbounded".*non-finite/);
    expect(() => validateSearchSpace([{ name: "missing", low: Number.NaN, high: 1 }])).toThrow(/"missing".*non-finite/);
    expect(() => validateSearchSpace([{ name: "rate", low: 0, high: 1, scale: "log" }])).toThrow(/log-scale dimension "rate".*low > 0/);
    expect(() => validateSearchSpace([{ name: "rate", low: -1, high: 1, scale: "log" }])).toThrow(/"rate"/);
    expect(() => validateSearchSpace([{ name: "a", low: 0, high: 1 }, { name: "a", low: 0, high: 2 }])).toThrow(/duplicate dimension name "a"/);
    expect(() => validateSearchSpace([{ name: "count", low: 0.2, high: 0.8, integer: true }])).toThrow(/integer dimension "count"/);
    expect(() => validateSearchSpace([])).toThrow(/no dimensions/);
  });
});

// ---- Gaussian process -----------------------------------------------------------------------------------------------

describe("Gaussian process", () => {
  it("interpolates noise-free data: mean ≈ targets and variance ≈ 0 at the inputs, variance larger far from them", () => {
    const random = createRandom(7);
    const size = 15;
    // inputs in the lower-left quarter of the square, so that (1, 1) is far from all of them
    const inputs = Float64Array.from({ length: size * 2 }, () => 0.5 * random());
    const targets = Float64Array.from({ length: size }, (_, row) => Math.sin(6 * (inputs[2 * row] as number)) + 3 * (inputs[2 * row + 1] as number) ** 2);
    const process = fitGaussianProcess(inputs, targets, 2);
    const atInputs = predict(process, inputs);
    const spread = Math.max(...targets) - Math.min(...targets);
    for (let row = 0; row < size; row++) {
      expect(Math.abs((atInputs.mean[row] as number) - (targets[row] as number))).toBeLessThan(1e-3 * spread);
      expect(atInputs.variance[row]).toBeLessThan(1e-5 * spread * spread);
    }
    const far = predict(process, Float64Array.of(1, 1));
    expect(far.variance[0]).toBeGreaterThan(0.1 * spread * spread);
    expect(process.hyperparameters.noiseVariance).toBeLessThan(1e-3);
  });

  it("chooses a longer lengthscale by marginal likelihood for a smooth function than for a wiggly one", () => {
    const size = 30;
    const inputs = Float64Array.from({ length: size }, (_, row) => (row + 0.5) / size);
    const lengthscaleFor = (f: (x: number) => number, ard: boolean): number =>
      fitGaussianProcess(inputs, inputs.map(f), 1, { ard }).hyperparameters.lengthscales[0] as number;
    for (const ard of [false, true]) {
      const smooth = lengthscaleFor((x) => Math.sin(2 * Math.PI * x), ard);
      const wiggly = lengthscaleFor((x) => Math.sin(12 * Math.PI * x), ard);
      expect(smooth).toBeGreaterThan(3 * wiggly);
    }
  });

  it("lengthens the lengthscale of a dimension the targets ignore (ARD)", () => {
    const random = createRandom(3);
    const size = 40;
    const inputs = Float64Array.from({ length: size * 2 }, () => random());
    const targets = Float64Array.from({ length: size }, (_, row) => Math.sin(5 * (inputs[2 * row] as number)));
    const [relevant, ignored] = fitGaussianProcess(inputs, targets, 2).hyperparameters.lengthscales;
    expect(ignored as number).toBeGreaterThan(3 * (relevant as number));
  });

  it("fits repeated inputs with different targets by raising the noise instead of failing", () => {
    const inputs = Float64Array.of(0.2, 0.2, 0.5, 0.8, 0.8);
    const targets = Float64Array.of(1, 1.4, 0, -1, -0.7);
    const process = fitGaussianProcess(inputs, targets, 1);
    expect(Number.isFinite(process.logMarginalLikelihood)).toBe(true);
    expect(process.hyperparameters.noiseVariance).toBeGreaterThan(1e-3);
    const { mean } = predict(process, Float64Array.of(0.2));
    expect(mean[0]).toBeCloseTo(1.2, 1);
  });

  it("fits 120 points in 20 dimensions in well under the tuner's budget", () => {
    const random = createRandom(5);
    const inputs = Float64Array.from({ length: 120 * 20 }, () => random());
    const targets = Float64Array.from({ length: 120 }, (_, row) => Math.sin(4 * (inputs[row * 20] as number)) - (inputs[row * 20 + 1] as number) ** 2);
    let fastest = Infinity;
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = performance.now();
      fitGaussianProcess(inputs, targets, 20);
      fastest = Math.min(fastest, performance.now() - started);
    }
    // ~15–25 ms measured on 2 busy cores; the bound only catches a change of complexity, not machine noise
    expect(fastest).toBeLessThan(150);
  });

  it("computes log expected improvement accurately near the incumbent and finitely far below it", () => {
    for (const [mean, std, threshold] of [[0, 1, 0], [1, 2, 0.5], [-1, 0.5, 0], [3, 0.1, 0]] as const) {
      const z = (mean - threshold) / std;
      const closedForm = std * (Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI) + z * normalCdf(z));
      expect(Math.exp(logExpectedImprovement(mean, std, threshold)) / closedForm).toBeCloseTo(1, 5);
    }
    // EI itself underflows to 0 here, yet candidates must stay ordered: the closer to the incumbent, the higher
    const far = [-10, -30, -100, -1000].map((mean) => logExpectedImprovement(mean, 1, 0));
    for (const value of far) expect(Number.isFinite(value)).toBe(true);
    for (let index = 1; index < far.length; index++) expect(far[index] as number).toBeLessThan(far[index - 1] as number);
    expect(logExpectedImprovement(2, 0, 1)).toBeCloseTo(0, 12);
    expect(logExpectedImprovement(0, 0, 1)).toBe(-Infinity);
  });
});

// ---- Bayesian optimisation ------------------------------------------------------------------------------------------

describe("maximise", () => {
  it("Branin: within 0.05 of the minimum in 40 trials on every seed, and better than random search", async () => {
    const { optimiser, random } = await minimaOverSeeds(braninSpace, branin, 40);
    for (const minimum of optimiser) expect(minimum - BRANIN_MINIMUM).toBeLessThan(0.05);
    expect(median(optimiser)).toBeLessThan(median(random));
  });

  it("Hartmann-3: within 0.05 of the minimum in 50 trials on every seed, and better than random search", async () => {
    const { optimiser, random } = await minimaOverSeeds(unitCube(3), hartmann3, 50);
    for (const minimum of optimiser) expect(minimum - HARTMANN3_MINIMUM).toBeLessThan(0.05);
    expect(median(optimiser)).toBeLessThan(median(random));
  });

  it("Hartmann-6: within 0.25 of the minimum in 80 trials", async () => {
    const result = await maximise(unitCube(6), (point) => -hartmann6(point), { trials: 80, seed: 1 });
    expect(-result.best.value - HARTMANN6_MINIMUM).toBeLessThan(0.25);
  });

  it("10-d shifted sphere with integer and log knobs: far better than random search at 60 trials", async () => {
    const { optimiser, random } = await minimaOverSeeds(sphereSpace, shiftedSphere, 60);
    expect(median(optimiser)).toBeLessThan(0.01);
    expect(median(optimiser)).toBeLessThan(median(random) / 10);
  });

  it("keeps integer knobs integral and never evaluates a point twice", async () => {
    const result = await maximise(sphereSpace, (point) => -shiftedSphere(point), { trials: 30, seed: 4 });
    for (const trial of result.trials) {
      for (const name of ["quota0", "quota1", "quota2"]) expect(Number.isInteger(trial.point[name])).toBe(true);
    }
    expect(new Set(pointKeys(result)).size).toBe(30);
  });

  it("stops early once every point of a small integer space has been evaluated", async () => {
    const tiny: SearchSpace = [{ name: "a", low: 0, high: 2, integer: true }, { name: "b", low: 0, high: 2, integer: true }];
    const result = await maximise(tiny, (point) => -(((point.a as number) - 1) ** 2) - (point.b as number), { trials: 20, seed: 1 });
    expect(result.trials).toHaveLength(9);
    expect(new Set(pointKeys(result)).size).toBe(9);
    expect(result.best.point).toEqual({ a: 1, b: 0 });
  });

  it("is deterministic: the same seed gives identical trials, a different seed different ones", async () => {
    const run = (seed: number) => maximise(braninSpace, (point) => -branin(point), { trials: 14, seed });
    const first = await run(11);
    expect(first.trials.filter((trial) => trial.phase === "model")).toHaveLength(6);
    expect(await run(11)).toStrictEqual(first);
    expect(pointKeys(await run(12))).not.toEqual(pointKeys(first));
    const random = await randomSearch(braninSpace, (point) => -branin(point), { trials: 5, seed: 11 });
    expect(await randomSearch(braninSpace, (point) => -branin(point), { trials: 5, seed: 11 })).toStrictEqual(random);
  });

  it("evaluates the start points first, as part of the initial design, and reports every trial with the best so far", async () => {
    const start = [{ x1: 0, x2: 5 }, { x1: Math.PI, x2: 2.275 }];
    const reported: [number, number][] = [];
    const result = await maximise(braninSpace, async (point) => -branin(point), {
      trials: 12,
      seed: 5,
      start,
      onTrial: (trial, best) => reported.push([trial.index, best.value]),
    });
    expect(result.trials.slice(0, 2).map((trial) => trial.point)).toEqual(start);
    expect(result.trials.map((trial) => trial.phase)).toEqual([...Array.from({ length: 8 }, () => "initial"), ...Array.from({ length: 4 }, () => "model")]);
    expect(reported.map(([index]) => index)).toEqual(result.trials.map((trial) => trial.index));
    let best = -Infinity;
    result.trials.forEach((trial, index) => {
      best = Math.max(best, trial.value);
      expect(reported[index]?.[1]).toBe(best);
    });
    // the second start point is a global minimiser: nothing can beat it, and the earliest of equals wins
    expect(result.best.index).toBe(1);
  });

  it("rejects a non-finite objective value with an error naming the trial", async () => {
    let calls = 0;
    const objective = (point: Point) => (++calls === 4 ? Number.NaN : -branin(point));
    await expect(maximise(braninSpace, objective, { trials: 10, seed: 1 })).rejects.toThrow(/trial 3 \(initial\) returned a non-finite objective value NaN/);
    await expect(maximise(braninSpace, () => Infinity, { trials: 10, seed: 1 })).rejects.toThrow(/trial 0 .*Infinity/);
    calls = 0;
    const late = (point: Point) => (++calls === 10 ? -Infinity : -branin(point));
    await expect(maximise(braninSpace, late, { trials: 12, seed: 1 })).rejects.toThrow(/trial 9 \(model\)/);
  });

  it("rejects invalid options and start points before evaluating anything", async () => {
    const objective = () => {
      throw new Error("must not be called");
    };
    await expect(maximise(braninSpace, objective, { trials: 0, seed: 1 })).rejects.toThrow(/trials must be a positive integer/);
    await expect(maximise(braninSpace, objective, { trials: 10, seed: 1, initialPoints: 0 })).rejects.toThrow(/initialPoints/);
    await expect(maximise(braninSpace, objective, { trials: 10, seed: 1, start: [{ x1: 0, x2: 20 }] })).rejects.toThrow(/start point 0.*"x2"/);
    await expect(maximise(braninSpace, objective, { trials: 10, seed: 1, start: [{ x1: 0 }] })).rejects.toThrow(/"x2"/);
    await expect(maximise(braninSpace, objective, { trials: 10, seed: 1, start: [{ x1: 0, x2: 1, x3: 2 }] })).rejects.toThrow(/unknown dimension "x3"/);
    await expect(maximise(braninSpace, objective, { trials: 1, seed: 1, start: [{ x1: 0, x2: 1 }, { x1: 1, x2: 1 }] })).rejects.toThrow(/exceed/);
    await expect(maximise([{ name: "bad", low: 1, high: 0 }], objective, { trials: 10, seed: 1 })).rejects.toThrow(/"bad"/);
  });

  it("copes with a constant objective", async () => {
    const result = await maximise(braninSpace, () => 1, { trials: 12, seed: 2 });
    expect(result.trials).toHaveLength(12);
    expect(result.best.index).toBe(0);
  });
});
