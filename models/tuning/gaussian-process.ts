// Gaussian-process regression on the unit cube, and the expected-improvement acquisition built on its posterior.
//
// Model: targets are standardised (ỹ = (y − mean) / std), then ỹ ~ GP(0, s·C) + N(0, s·g·I), where C is the Matern-5/2
// correlation with one lengthscale per input dimension (ARD) or one shared, s the signal variance and g the
// noise-to-signal ratio. Writing the covariance as s·(C + gI) lets s be profiled out: for fixed lengthscales and g the
// marginal likelihood is maximised at s = ỹᵀ(C + gI)⁻¹ỹ / n, so the search only has to cover lengthscales and g.
// The ARD lengthscales carry a weak log-normal prior on their spread around their geometric mean: with a few dozen
// trials the likelihood alone sometimes sends one lengthscale far off on chance evidence, and the optimiser then stops
// exploring that knob (on the tests' 10-d shifted sphere, 60 trials: stuck at a bound in 2 of 24 seeds without the prior).
//
// Everything here is pure functions over row-major Float64Arrays; inputs are n×d with n rows of d coordinates.

export interface Hyperparameters {
  /** One per input dimension, in unit-cube units (all equal when the fit is not ARD). */
  readonly lengthscales: Float64Array;
  /** Prior variance of the latent function, in standardised target units. */
  readonly signalVariance: number;
  /** Observation-noise variance in standardised target units, including any jitter the Cholesky factorisation needed. */
  readonly noiseVariance: number;
}

export interface GaussianProcess {
  readonly dimensions: number;
  readonly inputs: Float64Array;
  readonly hyperparameters: Hyperparameters;
  /** Log marginal likelihood of the standardised targets under the chosen hyperparameters. */
  readonly logMarginalLikelihood: number;
  readonly targetMean: number;
  readonly targetScale: number;
  /** Lower Cholesky factor L of C + gI, row-major n×n (the upper triangle is unused). */
  readonly factor: Float64Array;
  /** (C + gI)⁻¹ ỹ: the posterior mean at x is c(x)·weights. */
  readonly weights: Float64Array;
}

export interface FitOptions {
  /** One lengthscale per dimension (default) or a single shared one. */
  readonly ard?: boolean;
}

export interface Prediction {
  /** Posterior mean of the latent function, in the targets' units. */
  readonly mean: Float64Array;
  /** Posterior variance of the latent function (observation noise excluded), in the targets' units squared. */
  readonly variance: Float64Array;
}

const MIN_LENGTHSCALE = 0.01;
const MAX_LENGTHSCALE = 100;
const MIN_NOISE_RATIO = 1e-6;
const MAX_NOISE_RATIO = 1;
/** Shared lengthscales tried first, as multiples of √d: distances between points of the cube grow like √d. */
const SHARED_LENGTHSCALE_GRID = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4];
const NOISE_RATIO_GRID = [1e-6, 1e-4, 1e-3, 1e-2, 1e-1];
const INITIAL_NOISE_RATIO = 1e-4;
/** First step of a lengthscale in the ARD round; each further step in the same direction is three times the last. */
const ARD_STEP = 3;
const MAX_ARD_MOVES = 3;
/** Finer step of the final joint adjustment of all lengthscales. */
const POLISH_STEP = Math.sqrt(3);
/** Standard deviation of log(ℓ_k / ℓ̄) under the ARD prior (ℓ̄ the geometric mean): a factor e² ≈ 7.4 costs half a nat. */
const ARD_PRIOR_SPREAD = 2;

/**
 * Fits a GP to `targets` observed at `inputs` (n×d, coordinates in [0, 1]), choosing hyperparameters by maximising the
 * log marginal likelihood (plus the log prior on the lengthscales' spread) over a deterministic search: a grid of shared
 * lengthscales, a grid of noise ratios, then (ARD) one pass over the lengthscales one at a time, then a joint polish of
 * all lengthscales and the noise ratio. Each setting tried costs one n×n Cholesky factorisation, at most 19 + 4d in all.
 */
export function fitGaussianProcess(inputs: Float64Array, targets: ArrayLike<number>, dimensions: number, options: FitOptions = {}): GaussianProcess {
  const size = targets.length;
  if (size === 0) throw new Error("fitGaussianProcess: no observations");
  if (!Number.isInteger(dimensions) || dimensions < 1) throw new Error(`fitGaussianProcess: invalid dimensions ${dimensions}`);
  if (inputs.length !== size * dimensions) throw new Error(`fitGaussianProcess: ${inputs.length} input values for ${size}×${dimensions}`);
  for (let index = 0; index < size; index++) {
    if (!Number.isFinite(targets[index] as number)) throw new Error(`fitGaussianProcess: target ${index} is ${targets[index]}`);
  }
  const { standardised, mean: targetMean, scale: targetScale } = standardise(targets);
  const differences = squaredDifferencesByDimension(inputs, size, dimensions);
  const scratch = new Float64Array(size * size);
  const evaluate = (setting: Setting): Evidence => {
    const { signalVariance, logLikelihood, noiseRatio } = marginalLikelihood(setting, size, standardised, scratch);
    return { ...setting, noiseRatio, signalVariance, logLikelihood, logPosterior: logLikelihood + lengthscaleLogPrior(setting.lengthscales) };
  };
  const rescaled = (setting: Setting, factor: number, which: number | "all"): Evidence | null => {
    const moved = rescaleLengthscales(setting, factor, which, differences);
    return moved && evaluate(moved);
  };

  // 1. one shared lengthscale, at a small noise ratio
  let best = SHARED_LENGTHSCALE_GRID
    .map((multiple) => evaluate(sharedSetting(differences, dimensions, multiple * Math.sqrt(dimensions), INITIAL_NOISE_RATIO)))
    .reduce(better);
  // 2. the noise ratio at that lengthscale
  for (const noiseRatio of NOISE_RATIO_GRID) {
    if (noiseRatio !== best.noiseRatio) best = better(best, evaluate({ ...best, noiseRatio }));
  }
  // 3. ARD: each lengthscale in turn, longer first (knobs that barely matter are the common case), then shorter; steps
  // grow ×3, ×9, ×27 while they help, so that an ignored dimension gets a lengthscale that really ignores it
  if (options.ard ?? true) {
    for (let dimension = 0; dimension < dimensions; dimension++) {
      for (const direction of [ARD_STEP, 1 / ARD_STEP]) {
        const incumbent = best;
        for (let move = 1; move <= MAX_ARD_MOVES; move++) {
          const challenger = rescaled(best, direction ** move, dimension);
          if (!challenger || challenger.logPosterior <= best.logPosterior) break;
          best = challenger;
        }
        if (best !== incumbent) break;
      }
    }
    best = adjustNoise(best, ARD_STEP * ARD_STEP, evaluate);
  }
  // 4. polish: all lengthscales together, then the noise, by a finer step
  for (const factor of [POLISH_STEP, 1 / POLISH_STEP]) {
    const challenger = rescaled(best, factor, "all");
    if (challenger) best = better(best, challenger);
  }
  best = adjustNoise(best, POLISH_STEP * POLISH_STEP, evaluate);

  // the search kept only likelihoods; factorise the winner once more for the posterior
  const factor = new Float64Array(size * size);
  factoriseCorrelation(best.squaredDistances, size, best.noiseRatio, factor);
  const weights = standardised.slice();
  forwardSubstitute(factor, size, weights);
  backSubstitute(factor, size, weights);
  return {
    dimensions,
    inputs,
    hyperparameters: { lengthscales: best.lengthscales, signalVariance: best.signalVariance, noiseVariance: best.signalVariance * best.noiseRatio },
    logMarginalLikelihood: best.logLikelihood,
    targetMean,
    targetScale,
    factor,
    weights,
  };
}

/** Posterior mean and variance of the latent function at `points` (m×d, row-major). */
export function predict(model: GaussianProcess, points: Float64Array): Prediction {
  const { dimensions, inputs, factor, weights, targetMean, targetScale } = model;
  const size = weights.length;
  const count = points.length / dimensions;
  if (!Number.isInteger(count)) throw new Error(`predict: ${points.length} values is not a whole number of ${dimensions}-dimensional points`);
  const inverseSquaredLengthscales = model.hyperparameters.lengthscales.map((lengthscale) => 1 / (lengthscale * lengthscale));
  const signalVariance = model.hyperparameters.signalVariance * targetScale * targetScale;
  const mean = new Float64Array(count);
  const variance = new Float64Array(count);
  const correlations = new Float64Array(size);
  for (let point = 0; point < count; point++) {
    const offset = point * dimensions;
    let standardisedMean = 0;
    for (let row = 0; row < size; row++) {
      let squaredDistance = 0;
      for (let dimension = 0; dimension < dimensions; dimension++) {
        const difference = (points[offset + dimension] as number) - (inputs[row * dimensions + dimension] as number);
        squaredDistance += difference * difference * (inverseSquaredLengthscales[dimension] as number);
      }
      const correlation = matern52(Math.sqrt(squaredDistance));
      correlations[row] = correlation;
      standardisedMean += correlation * (weights[row] as number);
    }
    // var = s·(1 − cᵀ(C + gI)⁻¹c) = s·(1 − |L⁻¹c|²)
    forwardSubstitute(factor, size, correlations);
    let explained = 0;
    for (let row = 0; row < size; row++) explained += (correlations[row] as number) * (correlations[row] as number);
    mean[point] = targetMean + targetScale * standardisedMean;
    variance[point] = signalVariance * Math.max(0, 1 - explained);
  }
  return { mean, variance };
}

/** Matern-5/2 correlation at scaled distance r: (1 + √5r + 5r²/3)·exp(−√5r). Twice differentiable, unlike the exponential. */
export function matern52(distance: number): number {
  const scaled = Math.sqrt(5) * distance;
  return (1 + scaled + (scaled * scaled) / 3) * Math.exp(-scaled);
}

/**
 * log E[max(f − threshold, 0)] for f ~ N(mean, std²), the log of expected improvement over `threshold` (the incumbent
 * plus an exploration margin). Log space keeps candidates far below the incumbent ordered: EI itself underflows to 0
 * there, which would make the acquisition flat exactly when the model is confident.
 */
export function logExpectedImprovement(mean: number, std: number, threshold: number): number {
  if (!(std > 0)) return Math.log(Math.max(0, mean - threshold));
  const z = (mean - threshold) / std;
  return Math.log(std) + logImprovementFactor(z);
}

/** log h(z), h(z) = φ(z) + z·Φ(z) = E[max(Z + z, 0)] for standard normal Z; EI = std·h(z). */
function logImprovementFactor(z: number): number {
  if (z > -1) return Math.log(normalDensity(z) + z * normalCdf(z));
  // h(z) = φ(z)·(1 − x·M(x)), x = −z, M the Mills ratio. The difference cancels, losing ~x² digits-worth (relative error
  // ~1.2e-7·x²), so beyond x = 20 the asymptotic series 1 − xM(x) = x⁻² − 3x⁻⁴ + 15x⁻⁶ − 105x⁻⁸ + … takes over, whose
  // first four terms are good to 4e-8 there. Either way far better than ranking candidates needs.
  const x = -z;
  const logDensity = -0.5 * z * z - 0.5 * Math.log(2 * Math.PI);
  if (x < 20) return logDensity + Math.log(1 - x * millsRatio(x));
  const inverseSquare = 1 / (x * x);
  return logDensity + Math.log(inverseSquare * (1 - inverseSquare * (3 - inverseSquare * (15 - 105 * inverseSquare))));
}

function normalDensity(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Φ(z), through erfc (relative error below 1.2e-7 everywhere). */
export function normalCdf(z: number): number {
  return z >= 0 ? 1 - 0.5 * complementaryErrorFunction(z / Math.SQRT2) : 0.5 * complementaryErrorFunction(-z / Math.SQRT2);
}

/** Mills ratio Φ(−x)/φ(x) for x ≥ 0, without forming either factor (both underflow for large x). */
function millsRatio(x: number): number {
  const { t, logCorrection } = erfcParts(x / Math.SQRT2);
  return 0.5 * t * Math.exp(logCorrection) * Math.sqrt(2 * Math.PI);
}

/** erfc(x) for x ≥ 0 = t·exp(−x² + logCorrection): Numerical Recipes' Chebyshev fit, relative error below 1.2e-7. */
function complementaryErrorFunction(x: number): number {
  const { t, logCorrection } = erfcParts(x);
  return t * Math.exp(-x * x + logCorrection);
}

function erfcParts(x: number): { t: number; logCorrection: number } {
  const t = 1 / (1 + 0.5 * x);
  const logCorrection = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
    + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return { t, logCorrection };
}

// ---- marginal likelihood -------------------------------------------------------------------------------------------

/** A hyperparameter setting, carrying its scaled squared distances so that moving one lengthscale costs O(n²), not O(n²d). */
interface Setting {
  readonly lengthscales: Float64Array;
  readonly noiseRatio: number;
  /** Σ_k (x_ik − x_jk)² / ℓ_k² for each pair i > j, packed row by row. */
  readonly squaredDistances: Float64Array;
}

/** A setting with the noise ratio it really needed (jitter included), the profiled signal variance, and its scores. */
interface Evidence extends Setting {
  readonly signalVariance: number;
  readonly logLikelihood: number;
  /** What the search maximises: the log likelihood plus the lengthscales' log prior (up to a constant). */
  readonly logPosterior: number;
}

/** Ties keep the incumbent, so the search order alone decides: deterministic, and biased to the earlier, simpler fits. */
function better(incumbent: Evidence, challenger: Evidence): Evidence {
  return challenger.logPosterior > incumbent.logPosterior ? challenger : incumbent;
}

/**
 * Σ_k −½·(log(ℓ_k / ℓ̄) / σ)², ℓ̄ the lengthscales' geometric mean: penalises only their spread, so it is zero for a
 * shared lengthscale and leaves the overall scale to the likelihood.
 */
function lengthscaleLogPrior(lengthscales: Float64Array): number {
  const logLengthscales = Array.from(lengthscales, Math.log);
  const logMean = logLengthscales.reduce((sum, value) => sum + value, 0) / logLengthscales.length;
  return logLengthscales.reduce((sum, value) => sum - 0.5 * ((value - logMean) / ARD_PRIOR_SPREAD) ** 2, 0);
}

function sharedSetting(differences: readonly Float64Array[], dimensions: number, lengthscale: number, noiseRatio: number): Setting {
  const squaredDistances = new Float64Array((differences[0] as Float64Array).length);
  for (const perDimension of differences) {
    for (let pair = 0; pair < squaredDistances.length; pair++) squaredDistances[pair] = (squaredDistances[pair] as number) + (perDimension[pair] as number);
  }
  const inverseSquare = 1 / (lengthscale * lengthscale);
  for (let pair = 0; pair < squaredDistances.length; pair++) squaredDistances[pair] = (squaredDistances[pair] as number) * inverseSquare;
  return { lengthscales: new Float64Array(dimensions).fill(lengthscale), noiseRatio, squaredDistances };
}

/** `setting` with one lengthscale (or all of them) multiplied by `factor`, or null if that leaves the bounds. */
function rescaleLengthscales(setting: Setting, factor: number, which: number | "all", differences: readonly Float64Array[]): Setting | null {
  const lengthscales = setting.lengthscales.slice();
  for (let dimension = 0; dimension < lengthscales.length; dimension++) {
    if (which === "all" || which === dimension) lengthscales[dimension] = (lengthscales[dimension] as number) * factor;
  }
  if (lengthscales.some((lengthscale) => lengthscale < MIN_LENGTHSCALE || lengthscale > MAX_LENGTHSCALE)) return null;
  const squaredDistances = setting.squaredDistances.slice();
  if (which === "all") {
    const inverseSquare = 1 / (factor * factor);
    for (let pair = 0; pair < squaredDistances.length; pair++) squaredDistances[pair] = (squaredDistances[pair] as number) * inverseSquare;
  } else {
    // r'² = r² + (1/ℓ'² − 1/ℓ²)·Δ_k²; clamped because the subtraction can round a true 0 to −ε
    const perDimension = differences[which] as Float64Array;
    const previous = setting.lengthscales[which] as number;
    const change = 1 / (previous * factor) ** 2 - 1 / (previous * previous);
    for (let pair = 0; pair < squaredDistances.length; pair++) {
      squaredDistances[pair] = Math.max(0, (squaredDistances[pair] as number) + change * (perDimension[pair] as number));
    }
  }
  return { lengthscales, noiseRatio: setting.noiseRatio, squaredDistances };
}

/** The setting with the noise ratio multiplied or divided by `factor`, if either improves the likelihood. */
function adjustNoise(best: Evidence, factor: number, evaluate: (setting: Setting) => Evidence): Evidence {
  for (const noiseRatio of [best.noiseRatio * factor, best.noiseRatio / factor]) {
    if (noiseRatio >= MIN_NOISE_RATIO && noiseRatio <= MAX_NOISE_RATIO) {
      const challenger = evaluate({ ...best, noiseRatio });
      if (challenger.logPosterior > best.logPosterior) return challenger;
    }
  }
  return best;
}

/**
 * log p(ỹ) with s profiled out: −n/2·log(2π) − ½·log|C + gI| − n/2·log s − q/(2s), where q = ỹᵀ(C + gI)⁻¹ỹ = |L⁻¹ỹ|²
 * and s = q/n. `scratch` (n×n) receives the factor, so the search allocates no matrices.
 */
function marginalLikelihood(
  setting: Setting, size: number, targets: Float64Array, scratch: Float64Array,
): { noiseRatio: number; signalVariance: number; logLikelihood: number } {
  const noiseRatio = factoriseCorrelation(setting.squaredDistances, size, setting.noiseRatio, scratch);
  const whitened = targets.slice();
  forwardSubstitute(scratch, size, whitened);
  let quadratic = 0;
  let logDeterminant = 0;
  for (let row = 0; row < size; row++) {
    quadratic += (whitened[row] as number) * (whitened[row] as number);
    logDeterminant += 2 * Math.log(scratch[row * size + row] as number);
  }
  // constant targets standardise to zeros, for which the profiled s would be 0; keep a little prior variance instead
  const signalVariance = Math.max(quadratic / size, 1e-6);
  const logLikelihood = -0.5 * size * Math.log(2 * Math.PI) - 0.5 * logDeterminant - 0.5 * size * Math.log(signalVariance) - quadratic / (2 * signalVariance);
  return { noiseRatio, signalVariance, logLikelihood };
}

/** Per dimension k, the squared differences (x_ik − x_jk)² of every pair i > j, packed row by row. */
function squaredDifferencesByDimension(inputs: Float64Array, size: number, dimensions: number): Float64Array[] {
  const pairs = (size * (size - 1)) / 2;
  return Array.from({ length: dimensions }, (_, dimension) => {
    const differences = new Float64Array(pairs);
    let pair = 0;
    for (let row = 1; row < size; row++) {
      for (let column = 0; column < row; column++) {
        const difference = (inputs[row * dimensions + dimension] as number) - (inputs[column * dimensions + dimension] as number);
        differences[pair++] = difference * difference;
      }
    }
    return differences;
  });
}

/**
 * Writes into `factor` the lower Cholesky factor of C + g·I (C the Matern-5/2 correlation at the packed squared
 * distances), raising g tenfold until the factorisation succeeds: rounding can make a nearly singular C (points closer
 * than the lengthscale resolves) indefinite. Returns the g used.
 */
function factoriseCorrelation(squaredDistances: Float64Array, size: number, noiseRatio: number, factor: Float64Array): number {
  for (let jitter = noiseRatio; jitter <= 10 * MAX_NOISE_RATIO; jitter *= 10) {
    let pair = 0;
    for (let row = 0; row < size; row++) {
      for (let column = 0; column < row; column++) factor[row * size + column] = matern52(Math.sqrt(squaredDistances[pair++] as number));
      factor[row * size + row] = 1 + jitter;
    }
    if (choleskyInPlace(factor, size)) return jitter;
  }
  throw new Error(`Gaussian process: correlation matrix not positive definite even with jitter ${10 * MAX_NOISE_RATIO}`);
}

// ---- linear algebra ------------------------------------------------------------------------------------------------

/**
 * Overwrites the lower triangle of the symmetric matrix A (row-major n×n; the upper triangle is ignored) with its
 * Cholesky factor L, A = L·Lᵀ. Returns false, leaving A partly overwritten, when a pivot is not positive.
 */
function choleskyInPlace(matrix: Float64Array, size: number): boolean {
  for (let column = 0; column < size; column++) {
    const columnOffset = column * size;
    const pivot = (matrix[columnOffset + column] as number) - dot(matrix, columnOffset, matrix, columnOffset, column);
    if (!(pivot > 0)) return false;
    const diagonal = Math.sqrt(pivot);
    matrix[columnOffset + column] = diagonal;
    for (let row = column + 1; row < size; row++) {
      const rowOffset = row * size;
      matrix[rowOffset + column] = ((matrix[rowOffset + column] as number) - dot(matrix, rowOffset, matrix, columnOffset, column)) / diagonal;
    }
  }
  return true;
}

/** Σ_{k<length} a[aOffset + k]·b[bOffset + k], four accumulators wide: the inner loop of the Cholesky and the triangular solves. */
function dot(a: Float64Array, aOffset: number, b: Float64Array, bOffset: number, length: number): number {
  let sum0 = 0, sum1 = 0, sum2 = 0, sum3 = 0;
  let k = 0;
  for (; k + 3 < length; k += 4) {
    sum0 += (a[aOffset + k] as number) * (b[bOffset + k] as number);
    sum1 += (a[aOffset + k + 1] as number) * (b[bOffset + k + 1] as number);
    sum2 += (a[aOffset + k + 2] as number) * (b[bOffset + k + 2] as number);
    sum3 += (a[aOffset + k + 3] as number) * (b[bOffset + k + 3] as number);
  }
  for (; k < length; k++) sum0 += (a[aOffset + k] as number) * (b[bOffset + k] as number);
  return sum0 + sum1 + (sum2 + sum3);
}

/** Solves L·x = b in place (b becomes x). */
function forwardSubstitute(factor: Float64Array, size: number, vector: Float64Array): void {
  for (let row = 0; row < size; row++) {
    const rowOffset = row * size;
    vector[row] = ((vector[row] as number) - dot(factor, rowOffset, vector, 0, row)) / (factor[rowOffset + row] as number);
  }
}

/** Solves Lᵀ·x = b in place (b becomes x). */
function backSubstitute(factor: Float64Array, size: number, vector: Float64Array): void {
  for (let row = size - 1; row >= 0; row--) {
    let sum = vector[row] as number;
    for (let k = row + 1; k < size; k++) sum -= (factor[k * size + row] as number) * (vector[k] as number);
    vector[row] = sum / (factor[row * size + row] as number);
  }
}

/** ỹ = (y − mean) / std; a constant series keeps scale 1 so that ỹ = 0 rather than NaN. */
function standardise(values: ArrayLike<number>): { standardised: Float64Array; mean: number; scale: number } {
  const count = values.length;
  let sum = 0;
  for (let index = 0; index < count; index++) sum += values[index] as number;
  const mean = sum / count;
  let squares = 0;
  for (let index = 0; index < count; index++) squares += ((values[index] as number) - mean) ** 2;
  const std = Math.sqrt(squares / count);
  const scale = std > 1e-12 * Math.max(1, Math.abs(mean)) ? std : 1;
  const standardised = new Float64Array(count);
  for (let index = 0; index < count; index++) standardised[index] = ((values[index] as number) - mean) / scale;
  return { standardised, mean, scale };
}
