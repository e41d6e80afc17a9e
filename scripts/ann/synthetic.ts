// Seeded synthetic embeddings for ANN tests and benchmarks. "Low-rank" vectors resemble trained item-tower
// embeddings: x = normalize(A·z + c + noise), z ~ N(0, I_rank), A a fixed random dims x rank matrix, c one
// of a few cluster centres. Isotropic vectors (plain Gaussian) are the hard case for graph indexes.

import { createRandom } from "../../core/util/random";

/** Mulberry32 (`core/util/random`): small, fast and reproducible across runtimes. */
export const seededRandom = createRandom;

/** Standard normal samples (Box-Muller). */
export function gaussian(random: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const u = 1 - random();
    const v = random();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };
}

export interface LowRankOptions {
  readonly rows: number;
  readonly dims: number;
  /** Rank of the shared subspace; 8-16 resembles trained towers. Default 16. */
  readonly rank?: number;
  readonly clusters?: number;
  /** Scale of the cluster centres relative to the subspace spread. */
  readonly clusterScale?: number;
  /** Standard deviation of the isotropic noise added to every component. Default 0.15. */
  readonly noise?: number;
  /** Seed of the shared model (subspace and centres): queries must use the same one as the items. */
  readonly modelSeed?: number;
  /** Seed of the samples drawn from the model. */
  readonly seed?: number;
}

/**
 * Defaults: rank 16 with noise 0.15 (about 15% of the signal's norm) is the harder end of "low-rank"; with
 * little noise a graph index finds almost everything, which would hide a poorly chosen expansion.
 */
export const LOW_RANK_DEFAULTS = { rank: 16, clusters: 8, clusterScale: 0.8, noise: 0.15 } as const;

/** Unit-norm low-rank vectors, row-major. The same options (and seeds) give the same vectors. */
export function lowRankVectors(options: LowRankOptions): Float32Array {
  const { rows, dims } = options;
  const rank = options.rank ?? LOW_RANK_DEFAULTS.rank;
  const clusters = options.clusters ?? LOW_RANK_DEFAULTS.clusters;
  const clusterScale = options.clusterScale ?? LOW_RANK_DEFAULTS.clusterScale;
  const noise = options.noise ?? LOW_RANK_DEFAULTS.noise;
  const modelNormal = gaussian(seededRandom(options.modelSeed ?? 1));
  const basis = Float64Array.from({ length: dims * rank }, () => modelNormal() / Math.sqrt(rank));
  const centres = Float64Array.from({ length: clusters * dims }, () => (modelNormal() * clusterScale) / Math.sqrt(dims));
  const normal = gaussian(seededRandom(options.seed ?? 2));
  const output = new Float32Array(rows * dims);
  const latent = new Float64Array(rank);
  const row = new Float64Array(dims);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < rank; j++) latent[j] = normal();
    const centre = Math.floor(normal() ** 2 * 1e6) % clusters;
    let squares = 0;
    for (let i = 0; i < dims; i++) {
      let value = (centres[centre * dims + i] as number) + normal() * noise;
      for (let j = 0; j < rank; j++) value += (basis[i * rank + j] as number) * (latent[j] as number);
      row[i] = value;
      squares += value * value;
    }
    const scale = 1 / Math.sqrt(squares);
    for (let i = 0; i < dims; i++) output[r * dims + i] = (row[i] as number) * scale;
  }
  return output;
}

/** Unit-norm isotropic Gaussian vectors, row-major. */
export function isotropicVectors(rows: number, dims: number, seed = 1): Float32Array {
  const normal = gaussian(seededRandom(seed));
  const output = new Float32Array(rows * dims);
  for (let r = 0; r < rows; r++) {
    let squares = 0;
    for (let i = 0; i < dims; i++) {
      const value = normal();
      output[r * dims + i] = value;
      squares += value * value;
    }
    const scale = 1 / Math.sqrt(squares);
    for (let i = 0; i < dims; i++) output[r * dims + i] = (output[r * dims + i] as number) * scale;
  }
  return output;
}

/** Fraction of `truth` found in `found` (recall@|truth|). */
export function recallOf(found: ArrayLike<number>, truth: ArrayLike<number>): number {
  if (truth.length === 0) return 1;
  const wanted = new Set<number>(Array.from(truth));
  let hits = 0;
  for (let i = 0; i < found.length; i++) if (wanted.has(found[i] as number)) hits++;
  return hits / truth.length;
}
