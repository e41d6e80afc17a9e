/**
 * Account (author) embeddings for the query language's `account_nn` operator. Two ways to learn them, compared by
 * `npm run eval:accounts` (scripts/account-embeddings/compare.ts; numbers and the choice in models/README.md,
 * "Account embeddings"):
 *
 * - "skip-gram": word2vec SGNS over each user's time-ordered engaged authors (skip-gram.ts).
 * - "item-mean": the normalised mean of each author's retrieval item embeddings (item-mean.ts).
 *
 * `trainAccountEmbeddings` is what the pipeline calls; its default method is the one the comparison chose.
 */
import type { TrainingData } from "../../core/data/dataset";
import { aggregateItemEmbeddings, type ItemEmbeddings } from "./item-mean";
import { buildAuthorSequences, engagedEvents } from "./sequences";
import { DEFAULT_SKIP_GRAM, trainSkipGram, type SkipGramOptions } from "./skip-gram";

export type AccountEmbeddingMethod = "skip-gram" | "item-mean";
export const ACCOUNT_EMBEDDING_METHODS: readonly AccountEmbeddingMethod[] = ["skip-gram", "item-mean"];

/** The method the comparison picked (see models/README.md, "Account embeddings"). */
export const DEFAULT_ACCOUNT_EMBEDDING_METHOD: AccountEmbeddingMethod = "item-mean";
export const DEFAULT_ITEM_WEIGHTING: "mean" | "engagements" = "engagements";

export interface AccountEmbeddingOptions {
  readonly seed: number;
  readonly method?: AccountEmbeddingMethod;
  /** The retrieval two-tower's item embeddings, [items × dim], row = item row; required by "item-mean". */
  readonly itemEmbeddings?: ItemEmbeddings;
  /** "item-mean" only: items weighted by 1 + their engagements in the training window (default), or a plain mean. */
  readonly itemWeighting?: "mean" | "engagements";
  /** "skip-gram" only: overrides of DEFAULT_SKIP_GRAM. */
  readonly skipGram?: Partial<Omit<SkipGramOptions, "seed" | "log">>;
  readonly log?: (line: string) => void;
}

export interface AccountEmbeddings {
  readonly dim: number;
  /** [authors × dim], row = author row of `train.items.authors`, L2-normalised; zero for authors without an embedding. */
  readonly vectors: Float32Array;
  readonly method: AccountEmbeddingMethod;
  readonly metrics: Record<string, number | string | readonly number[]>;
}

export function trainAccountEmbeddings(train: TrainingData, options: AccountEmbeddingOptions): AccountEmbeddings {
  const started = performance.now();
  const method = options.method ?? DEFAULT_ACCOUNT_EMBEDDING_METHOD;
  if (!ACCOUNT_EMBEDDING_METHODS.includes(method)) throw new Error(`trainAccountEmbeddings: unknown method ${String(method)} (expected ${ACCOUNT_EMBEDDING_METHODS.join(" or ")})`);
  if (!Number.isFinite(options.seed)) throw new Error(`trainAccountEmbeddings: seed must be a finite number, got ${options.seed}`);
  const authorCount = train.items.authors.size;
  if (authorCount === 0) throw new Error("trainAccountEmbeddings: the item table has no authors");

  let dim: number;
  let vectors: Float32Array;
  const metrics: Record<string, number | string | readonly number[]> = { method };
  if (method === "item-mean") {
    const items = options.itemEmbeddings;
    if (items === undefined) throw new Error("trainAccountEmbeddings: method \"item-mean\" needs options.itemEmbeddings (the retrieval item embeddings)");
    const weighting = options.itemWeighting ?? DEFAULT_ITEM_WEIGHTING;
    if (weighting !== "mean" && weighting !== "engagements") throw new Error(`trainAccountEmbeddings: itemWeighting must be "mean" or "engagements", got ${String(weighting)}`);
    const itemWeights = weighting === "engagements" ? engagementWeights(train) : undefined;
    dim = items.dim;
    vectors = aggregateItemEmbeddings(train.items.author, authorCount, items, { itemWeights });
    metrics.item_weighting = weighting;
  } else {
    const sequences = buildAuthorSequences(train.events, train.items);
    const result = trainSkipGram(sequences, authorCount, { ...DEFAULT_SKIP_GRAM, ...options.skipGram, seed: options.seed, log: options.log });
    dim = result.dim;
    vectors = result.vectors;
    metrics.sequences = sequences.users.length;
    metrics.tokens = sequences.tokens.length;
    metrics.vocabulary = result.vocabulary.length;
    metrics.pairs_first_epoch = result.pairsPerEpoch[0] ?? 0;
    metrics.losses = result.losses.map((loss) => Number(loss.toFixed(4)));
  }
  let withVector = 0;
  for (let a = 0; a < authorCount; a++) {
    for (let d = 0; d < dim; d++) {
      if (vectors[a * dim + d] !== 0) {
        withVector++;
        break;
      }
    }
  }
  metrics.dim = dim;
  metrics.authors = authorCount;
  metrics.authors_with_vector = withVector;
  metrics.seconds = Number(((performance.now() - started) / 1000).toFixed(2));
  options.log?.(`account embeddings (${method}): ${withVector} of ${authorCount} authors, ${dim} dims (${metrics.seconds} s)`);
  return { dim, vectors, method, metrics };
}

/** 1 + engaged events per item in the training window (the +1 keeps never-engaged items in their author's mean). */
function engagementWeights(train: TrainingData): Float64Array {
  const weights = new Float64Array(train.items.ids.size).fill(1);
  const engaged = engagedEvents(train.events);
  for (let e = 0; e < train.events.size; e++) {
    if (engaged[e] === 1) weights[train.events.item[e] as number] = (weights[train.events.item[e] as number] as number) + 1;
  }
  return weights;
}

export { aggregateItemEmbeddings, type ItemEmbeddings, type ItemMeanOptions } from "./item-mean";
export { buildAuthorSequences, engagedEvents, ENGAGEMENT_LABELS, type AuthorSequences } from "./sequences";
export { DEFAULT_SKIP_GRAM, trainSkipGram, type SkipGramOptions, type SkipGramResult } from "./skip-gram";
