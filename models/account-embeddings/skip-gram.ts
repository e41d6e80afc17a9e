// Skip-gram with negative sampling (word2vec's SGNS) over author sequences, trained with the project's autodiff.
//
// Each author has a "target" (input) row and a "context" (output) row. For a target token and a context token within
// the window, the model raises σ(target·context) and lowers σ(target·negative) for `negatives` authors drawn from the
// unigram distribution raised to 0.75 (which samples rare authors more often than their share, so popular accounts
// are not the only thing every embedding learns to avoid). The served vector is the L2-normalised target row.

import { Adam, Parameter, Rng, backward, bceWithLogits, embedding, rowDot, tidy, uniformInit } from "../autodiff";
import { validateSequences, type AuthorSequences } from "./sequences";

export interface SkipGramOptions {
  readonly dim: number;
  /** Maximum distance between target and context; each target draws its own window in 1..window (word2vec's dynamic window). */
  readonly window: number;
  /** Negative authors per positive pair. */
  readonly negatives: number;
  /** Exponent of the unigram counts for negative sampling. */
  readonly negativePower: number;
  /**
   * Authors occurring fewer times than this (after collapsing repeats) are dropped from the vocabulary and from the
   * sequences before windowing: a handful of occurrences cannot place an author, and a shared "rare" row would make all
   * rare authors each other's nearest neighbours. Dropped authors get a zero vector.
   */
  readonly minCount: number;
  /**
   * word2vec's frequent-token subsampling threshold t: a token of frequency f is kept with probability
   * min(1, sqrt(t/f) + t/f) each epoch. 0 keeps every token.
   */
  readonly subsample: number;
  readonly epochs: number;
  /** Positive pairs per step. */
  readonly batchSize: number;
  readonly learningRate: number;
  /**
   * "sgd": word2vec's plain SGD on the summed loss, learning rate decaying linearly to 1e-4 of its start over the run.
   * "adam": lazy Adam on the mean loss. Adam scales every row's step to its own gradient size, so an author seen
   * twice moves as far as one seen a thousand times; SGD lets frequent authors settle the space.
   */
  readonly optimizer: "sgd" | "adam";
  /** Served vector: the target row, or target + context rows (sometimes smoother for rare words). */
  readonly output: "target" | "target+context";
  readonly seed: number;
  readonly log?: (line: string) => void;
}

/** Chosen on a validation split (train through 20220501, test 20220502..20220503): see models/README.md. */
export const DEFAULT_SKIP_GRAM: Omit<SkipGramOptions, "seed"> = {
  dim: 32,
  window: 5,
  negatives: 5,
  negativePower: 0.75,
  minCount: 10,
  subsample: 0,
  epochs: 3,
  batchSize: 512,
  learningRate: 0.01,
  optimizer: "adam",
  output: "target+context",
};

export interface SkipGramResult {
  readonly dim: number;
  /** [authorCount × dim], L2-normalised rows; zero rows for authors outside the vocabulary. */
  readonly vectors: Float32Array;
  /** Author rows that received a vector (in the vocabulary and in some trained pair's sequence), ascending. */
  readonly vocabulary: Int32Array;
  /** Occurrences of each author in the (collapsed) sequences, indexed by author row. */
  readonly counts: Int32Array;
  /** Mean BCE per epoch. */
  readonly losses: readonly number[];
  /** Positive pairs per epoch (they vary with the dynamic window and subsampling). */
  readonly pairsPerEpoch: readonly number[];
  readonly seconds: number;
}

function checkOptions(options: SkipGramOptions): void {
  const integer = (name: string, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min) throw new Error(`trainSkipGram: ${name} must be an integer ≥ ${min}, got ${value}`);
  };
  integer("dim", options.dim, 1);
  integer("window", options.window, 1);
  integer("negatives", options.negatives, 1);
  integer("minCount", options.minCount, 1);
  integer("epochs", options.epochs, 1);
  integer("batchSize", options.batchSize, 1);
  if (!(options.learningRate > 0) || !Number.isFinite(options.learningRate)) throw new Error(`trainSkipGram: learningRate must be finite and > 0, got ${options.learningRate}`);
  if (!(options.negativePower >= 0) || !Number.isFinite(options.negativePower)) throw new Error(`trainSkipGram: negativePower must be finite and ≥ 0, got ${options.negativePower}`);
  if (!(options.subsample >= 0) || !Number.isFinite(options.subsample)) throw new Error(`trainSkipGram: subsample must be finite and ≥ 0, got ${options.subsample}`);
  if (options.optimizer !== "sgd" && options.optimizer !== "adam") throw new Error(`trainSkipGram: optimizer must be "sgd" or "adam", got ${String(options.optimizer)}`);
  if (options.output !== "target" && options.output !== "target+context") throw new Error(`trainSkipGram: output must be "target" or "target+context", got ${String(options.output)}`);
  if (!Number.isFinite(options.seed)) throw new Error(`trainSkipGram: seed must be a finite number, got ${options.seed}`);
}

/** The sequences re-written over vocabulary indices, rare authors removed and the repeats this exposes collapsed. */
function encodeSequences(sequences: AuthorSequences, vocabIndex: Int32Array): { offsets: Int32Array; tokens: Int32Array } {
  const offsets: number[] = [0];
  const tokens: number[] = [];
  for (let s = 0; s + 1 < sequences.offsets.length; s++) {
    const start = tokens.length;
    for (let t = sequences.offsets[s] as number; t < (sequences.offsets[s + 1] as number); t++) {
      const index = vocabIndex[sequences.tokens[t] as number] as number;
      if (index < 0) continue;
      if (tokens.length > start && tokens[tokens.length - 1] === index) continue;
      tokens.push(index);
    }
    // a sequence of one author has no pairs
    if (tokens.length - start < 2) tokens.length = start;
    else offsets.push(tokens.length);
  }
  return { offsets: Int32Array.from(offsets), tokens: Int32Array.from(tokens) };
}

/** Samples indices with probability ∝ weights by inverting the cumulative sum (binary search: vocabularies are small). */
class WeightedSampler {
  private readonly cumulative: Float64Array;

  constructor(weights: Float64Array) {
    this.cumulative = new Float64Array(weights.length);
    let total = 0;
    for (let i = 0; i < weights.length; i++) this.cumulative[i] = total += weights[i] as number;
    if (!(total > 0)) throw new Error("WeightedSampler: weights must have a positive sum");
  }

  sample(rng: Rng): number {
    const x = rng.uniform() * (this.cumulative[this.cumulative.length - 1] as number);
    let lo = 0, hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/**
 * Trains SGNS on `sequences` (tokens are author rows below `authorCount`). A pure function of its inputs and seed:
 * the same seed gives bit-identical vectors.
 */
export function trainSkipGram(sequences: AuthorSequences, authorCount: number, options: SkipGramOptions): SkipGramResult {
  const started = performance.now();
  checkOptions(options);
  validateSequences(sequences, authorCount);
  const { dim, window, negatives } = options;

  const counts = new Int32Array(authorCount);
  for (const token of sequences.tokens) counts[token] = (counts[token] as number) + 1;
  const vocabIndex = new Int32Array(authorCount).fill(-1);
  const vocabulary: number[] = [];
  for (let author = 0; author < authorCount; author++) {
    if ((counts[author] as number) >= options.minCount) {
      vocabIndex[author] = vocabulary.length;
      vocabulary.push(author);
    }
  }
  const corpus = encodeSequences(sequences, vocabIndex);
  if (corpus.tokens.length === 0) {
    throw new Error(`trainSkipGram: no sequence has two different authors occurring at least minCount=${options.minCount} times; nothing to learn from`);
  }
  const vocabSize = vocabulary.length;
  const vocabCounts = new Float64Array(vocabSize);
  for (const token of corpus.tokens) vocabCounts[token] = (vocabCounts[token] as number) + 1;
  const negativeSampler = new WeightedSampler(vocabCounts.map((c) => Math.pow(c, options.negativePower)));
  const keepProbability = vocabCounts.map((c) => {
    if (options.subsample === 0) return 1;
    const ratio = options.subsample / (c / corpus.tokens.length);
    return Math.min(1, Math.sqrt(ratio) + ratio);
  });

  const rng = new Rng(options.seed);
  // word2vec's initialisation: small random targets, zero contexts (the first steps then only move contexts).
  const targets = new Parameter("account_target", uniformInit(rng, [vocabSize, dim], -0.5 / dim, 0.5 / dim), [vocabSize, dim], { sparse: true });
  const contexts = new Parameter("account_context", new Float32Array(vocabSize * dim), [vocabSize, dim], { sparse: true });
  const adam = options.optimizer === "adam" ? new Adam([targets, contexts], { lr: options.learningRate }) : null;

  const maxPairs = corpus.tokens.length * 2 * window;
  const pairTarget = new Int32Array(maxPairs);
  const pairContext = new Int32Array(maxPairs);
  const group = 1 + negatives;
  const losses: number[] = [];
  const pairsPerEpoch: number[] = [];
  // SGD's linear decay runs over an estimate of the run's steps (pairs vary a little per epoch)
  let expectedSteps = 0;
  let stepsDone = 0;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const epochStarted = performance.now();
    // --- this epoch's positive pairs ---
    let pairs = 0;
    const kept: number[] = [];
    for (let s = 0; s + 1 < corpus.offsets.length; s++) {
      kept.length = 0;
      for (let t = corpus.offsets[s] as number; t < (corpus.offsets[s + 1] as number); t++) {
        const token = corpus.tokens[t] as number;
        if ((keepProbability[token] as number) >= 1 || rng.uniform() < (keepProbability[token] as number)) kept.push(token);
      }
      for (let i = 0; i < kept.length; i++) {
        const reach = 1 + rng.int(window);
        const target = kept[i] as number;
        for (let j = Math.max(0, i - reach); j <= Math.min(kept.length - 1, i + reach); j++) {
          const context = kept[j] as number;
          // an author recurring within the window (A B A, or A _ A after subsampling) is not its own context
          if (j === i || context === target) continue;
          pairTarget[pairs] = target;
          pairContext[pairs] = context;
          pairs++;
        }
      }
    }
    pairsPerEpoch.push(pairs);
    if (pairs === 0) throw new Error(`trainSkipGram: epoch ${epoch} produced no pairs (subsample=${options.subsample} dropped too much)`);
    const order = rng.permutation(pairs);
    if (epoch === 1) expectedSteps = Math.ceil(pairs / options.batchSize) * options.epochs;

    // --- steps ---
    let lossSum = 0;
    let steps = 0;
    for (let start = 0; start < pairs; start += options.batchSize) {
      const size = Math.min(options.batchSize, pairs - start);
      const targetIds = new Int32Array(size * group);
      const contextIds = new Int32Array(size * group);
      const labels = new Float32Array(size * group);
      for (let b = 0; b < size; b++) {
        const p = order[start + b] as number;
        const target = pairTarget[p] as number;
        const positive = pairContext[p] as number;
        const base = b * group;
        targetIds.fill(target, base, base + group);
        contextIds[base] = positive;
        labels[base] = 1;
        for (let n = 1; n < group; n++) {
          let negative = negativeSampler.sample(rng);
          // the true context drawn as a negative would be told apart from itself; redraw (bounded for tiny vocabularies)
          for (let attempt = 0; attempt < 8 && (negative === positive || negative === target); attempt++) negative = negativeSampler.sample(rng);
          contextIds[base + n] = negative;
        }
      }
      lossSum += tidy(() => {
        const logits = rowDot(embedding(targets, targetIds), embedding(contexts, contextIds));
        const loss = bceWithLogits(logits, labels);
        backward(loss);
        if (adam !== null) {
          adam.step();
          adam.zeroGrad();
        } else {
          // the loss is a mean over size·group logits; word2vec steps on the sum
          const lr = options.learningRate * Math.max(1e-4, 1 - stepsDone / expectedSteps) * size * group;
          sgdStep(targets, lr);
          sgdStep(contexts, lr);
        }
        stepsDone++;
        return loss.item();
      });
      steps++;
    }
    losses.push(lossSum / steps);
    options.log?.(`skip-gram epoch ${epoch}: loss ${(lossSum / steps).toFixed(4)}, ${pairs} pairs (${((performance.now() - epochStarted) / 1000).toFixed(2)} s)`);
  }

  // An author can pass minCount yet vanish from the corpus (every sequence it was in shrank to one author): its row
  // never trained, so it gets no vector rather than its random initialisation.
  const vectors = new Float32Array(authorCount * dim);
  const embedded: number[] = [];
  for (let v = 0; v < vocabSize; v++) {
    if (vocabCounts[v] === 0) continue;
    const author = vocabulary[v] as number;
    embedded.push(author);
    const row = vectors.subarray(author * dim, (author + 1) * dim);
    for (let d = 0; d < dim; d++) {
      row[d] = (targets.data[v * dim + d] as number) + (options.output === "target+context" ? (contexts.data[v * dim + d] as number) : 0);
    }
  }
  normalizeRows(vectors, dim);
  return { dim, vectors, vocabulary: Int32Array.from(embedded), counts, losses, pairsPerEpoch, seconds: (performance.now() - started) / 1000 };
}

/** θ −= lr·g on the rows the step touched, then zeroes their gradient. */
function sgdStep(table: Parameter, lr: number): void {
  const grad = table.grad;
  if (grad === null) return;
  const rows = table.touchedRows();
  const cols = table.shape[1] as number;
  const data = table.data;
  const update = (row: number) => {
    for (let j = row * cols; j < (row + 1) * cols; j++) data[j] = (data[j] as number) - lr * (grad[j] as number);
  };
  if (rows === "all") for (let row = 0; row < table.rows; row++) update(row);
  else for (const row of rows) update(row);
  table.zeroGrad();
}

/** Scales each row to unit L2 norm in place; all-zero rows stay zero. */
export function normalizeRows(vectors: Float32Array, dim: number): void {
  for (let base = 0; base < vectors.length; base += dim) {
    let sq = 0;
    for (let d = 0; d < dim; d++) sq += (vectors[base + d] as number) * (vectors[base + d] as number);
    if (sq === 0) continue;
    const inv = 1 / Math.sqrt(sq);
    for (let d = 0; d < dim; d++) vectors[base + d] = (vectors[base + d] as number) * inv;
  }
}
