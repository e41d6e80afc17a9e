/**
 * npm run eval:accounts -- [--data <dir>] [--train-end YYYYMMDD] [--test-start YYYYMMDD] [--test-end YYYYMMDD]
 *                          [--bundle <dir>] [--seed N] [--seeds-per-user N] [--k N] [--json <file>]
 *                          [--dim N] [--window N] [--negatives N] [--min-count N] [--subsample T] [--epochs N] [--lr X]
 *
 * Which account embeddings give better `account_nn` neighbours? Learns skip-gram embeddings on the training window,
 * aggregates the bundle's retrieval item embeddings (trained on the same window) per author, and measures both beside
 * author popularity: for each user, the seeds are their most recent training-window authors; the targets are the
 * authors they engage with in the test window and never did before. See models/README.md, "Account embeddings".
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadDataset } from "../../core/data/load";
import { splitByDate } from "../../core/data/split";
import { DAY_MS } from "../../core/eval/baselines/popularity";
import { trainingData } from "../../core/eval/harness";
import { AccountVectors } from "../../core/serving/account-neighbours";
import { topK } from "../../core/util/top-k";
import { Rng } from "../../models/autodiff";
import { trainAccountEmbeddings, type AccountEmbeddings } from "../../models/account-embeddings";
import {
  authorTagSets,
  embeddingRanker,
  NeighbourCache,
  newAuthorCases,
  operatorRecall,
  recallAtN,
  tagAgreement,
  topAuthorsExcept,
  type AuthorRanker,
  type OperatorReport,
  type RecallReport,
  type TagAgreement,
} from "../../models/account-embeddings/evaluate";
import { engagedEvents } from "../../models/account-embeddings/sequences";
import { DEFAULT_SKIP_GRAM, type SkipGramOptions } from "../../models/account-embeddings/skip-gram";
import { DirectoryDataSource } from "../lib/directory-source";
import { defaultBundleDirectory, ensureBundle } from "../lib/default-bundle";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { UsageError, runCli } from "../lib/cli";

const USAGE =
  "usage: npm run eval:accounts -- [--data <dir>] [--train-end YYYYMMDD] [--test-start YYYYMMDD] [--test-end YYYYMMDD] [--bundle <dir>] [--seed N] [--seeds-per-user N] [--k N] [--json <file>] [--dim N] [--window N] [--negatives N] [--min-count N] [--subsample T] [--epochs N] [--lr X]";
const NS = [10, 50, 100] as const;

interface MethodReport {
  readonly name: string;
  readonly seconds: number | null;
  readonly authorsWithVector: number | null;
  /** Share of (user, new author) targets whose author has a vector (popularity: has a training engagement). */
  readonly targetCoverage: number;
  readonly ranked: RecallReport;
  readonly operator: OperatorReport | null;
  readonly tags: TagAgreement | null;
}

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "data/kuairand-pure" },
      "train-end": { type: "string", default: "20220503" },
      "test-start": { type: "string", default: "20220504" },
      "test-end": { type: "string" },
      bundle: { type: "string" },
      seed: { type: "string", default: "1" },
      "seeds-per-user": { type: "string", default: "30" },
      k: { type: "string", default: "10" },
      json: { type: "string" },
      dim: { type: "string" },
      window: { type: "string" },
      negatives: { type: "string" },
      "min-count": { type: "string" },
      subsample: { type: "string" },
      epochs: { type: "string" },
      lr: { type: "string" },
    },
    strict: true,
  });
  const integer = (name: string, text: string, min: number) => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${text}`);
    return value;
  };
  const positive = (name: string, text: string, allowZero = false) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new UsageError(`--${name} must be a ${allowZero ? "non-negative" : "positive"} number, got ${text}`);
    return value;
  };
  const seed = integer("seed", values.seed, 0);
  const seedsPerUser = integer("seeds-per-user", values["seeds-per-user"], 1);
  const k = integer("k", values.k, 1);
  const skipGram: Partial<Omit<SkipGramOptions, "seed" | "log">> = {
    ...(values.dim !== undefined && { dim: integer("dim", values.dim, 1) }),
    ...(values.window !== undefined && { window: integer("window", values.window, 1) }),
    ...(values.negatives !== undefined && { negatives: integer("negatives", values.negatives, 1) }),
    ...(values["min-count"] !== undefined && { minCount: integer("min-count", values["min-count"], 1) }),
    ...(values.subsample !== undefined && { subsample: positive("subsample", values.subsample, true) }),
    ...(values.epochs !== undefined && { epochs: integer("epochs", values.epochs, 1) }),
    ...(values.lr !== undefined && { learningRate: positive("lr", values.lr) }),
  };
  const started = performance.now();
  const log = (line: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);

  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  const split = splitByDate(dataset, { trainEnd: values["train-end"], testStart: values["test-start"], testEnd: values["test-end"] });
  const train = trainingData(dataset, split);
  log(`loaded ${values.data}: train through ${split.trainEnd} (${split.train.size} events), test ${split.testStart}..${split.testEnd} (${split.test.size} events)`);

  // --- the retrieval item embeddings of a bundle trained on exactly this training window ---
  const directory = values.bundle ?? defaultBundleDirectory(split.trainEnd);
  if (values.bundle === undefined) await ensureBundle(directory, values.data, split.trainEnd, log);
  const bundle = await loadBundleDirectory(directory);
  const manifest = bundle.manifest as unknown as { data?: { train_end?: string; items?: number }; models?: { retrieval?: { item_embeddings?: string; dim?: number } } };
  if (manifest.data?.train_end !== split.trainEnd) {
    throw new UsageError(`--bundle ${directory} was trained through ${manifest.data?.train_end}, but this split trains through ${split.trainEnd}: its item embeddings would have seen test days`);
  }
  const embeddingsPath = manifest.models?.retrieval?.item_embeddings;
  const itemDim = manifest.models?.retrieval?.dim;
  if (embeddingsPath === undefined || itemDim === undefined) throw new UsageError(`${directory}/manifest.json has no models.retrieval.item_embeddings / dim`);
  const bytes = await readFile(join(directory, ...embeddingsPath.split("/")));
  const itemVectors = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (itemVectors.length !== dataset.items.ids.size * itemDim) {
    throw new UsageError(`${embeddingsPath} holds ${itemVectors.length} values, not ${dataset.items.ids.size} items × ${itemDim}`);
  }
  const itemEmbeddings = { vectors: itemVectors, dim: itemDim };
  log(`item embeddings: ${directory}/${embeddingsPath} (${dataset.items.ids.size} × ${itemDim})`);

  // --- account embeddings, both ways ---
  const spaces: { name: string; embeddings: AccountEmbeddings }[] = [
    { name: "skip-gram", embeddings: trainAccountEmbeddings(train, { seed, method: "skip-gram", skipGram, log: (line) => log(`  ${line}`) }) },
    { name: "item-mean", embeddings: trainAccountEmbeddings(train, { seed, method: "item-mean", itemEmbeddings, itemWeighting: "mean", log }) },
    { name: "item-mean (engagement-weighted)", embeddings: trainAccountEmbeddings(train, { seed, method: "item-mean", itemEmbeddings, itemWeighting: "engagements", log }) },
  ];

  // --- the task ---
  const cases = newAuthorCases(split.train, split.test, dataset.items, seedsPerUser);
  const targetPairs = cases.reduce((sum, c) => sum + c.targets.size, 0);
  log(`${cases.length} users with training-window authors and new authors in the test window (${targetPairs} user–new-author pairs)`);

  // --- baselines: author popularity (engaged events in the window; and decayed, half-life one day) and random ---
  const authorCount = dataset.items.authors.size;
  const counts = new Float64Array(authorCount);
  const decayed = new Float64Array(authorCount);
  const engaged = engagedEvents(split.train);
  for (let e = 0; e < split.train.size; e++) {
    if (engaged[e] === 0) continue;
    const author = dataset.items.author[split.train.item[e] as number] as number;
    counts[author] = (counts[author] as number) + 1;
    decayed[author] = (decayed[author] as number) + Math.pow(0.5, (train.endMs - (split.train.ts[e] as number)) / DAY_MS);
  }
  const popularAuthors = (scores: Float64Array) => topK(scores, authorCount).filter((author) => (scores[author] as number) > 0);
  const countOrder = popularAuthors(counts);
  const decayedOrder = popularAuthors(decayed);
  const randomRanker = (): AuthorRanker => {
    const rng = new Rng(seed);
    return (_seeds, known, n) => topAuthorsExcept(rng.permutation(authorCount), known, n);
  };

  const tags = authorTagSets(dataset.items);
  const spacesVectors = spaces.map((space) => new AccountVectors(space.embeddings.vectors, space.embeddings.dim));
  // tag agreement over the same query authors for every space: authors engaged in training that all spaces embed
  const tagQueries = Array.from(countOrder).filter((author) => spacesVectors.every((vectors) => vectors.hasVector(author))).sort((a, b) => a - b);
  const coverage = (has: (author: number) => boolean) => cases.reduce((sum, c) => sum + [...c.targets].filter(has).length, 0) / targetPairs;

  // long enough for exact top-N rankings and operator unions (see embeddingRanker)
  const cacheLength = Math.max(Math.max(...NS) + Math.max(...cases.map((c) => c.known.size)), k + seedsPerUser);
  const reports: MethodReport[] = [];
  spaces.forEach((space, s) => {
    const vectors = spacesVectors[s] as AccountVectors;
    const evalStarted = performance.now();
    const cache = new NeighbourCache(vectors, cacheLength);
    const ranked = recallAtN(cases, embeddingRanker(cache), NS);
    const operator = operatorRecall(cases, cache, k, decayedOrder);
    log(`${space.name}: evaluated in ${((performance.now() - evalStarted) / 1000).toFixed(1)} s`);
    reports.push({
      name: space.name,
      seconds: space.embeddings.metrics.seconds as number,
      authorsWithVector: space.embeddings.metrics.authors_with_vector as number,
      targetCoverage: coverage((author) => vectors.hasVector(author)),
      ranked,
      operator,
      tags: tagAgreement(cache, tagQueries, k, tags, seed),
    });
  });
  for (const [name, order, scores] of [["popularity (decayed)", decayedOrder, decayed], ["popularity (count)", countOrder, counts]] as const) {
    reports.push({
      name,
      seconds: null,
      authorsWithVector: null,
      targetCoverage: coverage((author) => (scores[author] as number) > 0),
      ranked: recallAtN(cases, (_seeds, known, n) => topAuthorsExcept(order, known, n), NS),
      operator: null,
      tags: null,
    });
  }
  reports.push({ name: "random", seconds: null, authorsWithVector: null, targetCoverage: 1, ranked: recallAtN(cases, randomRanker(), NS), operator: null, tags: null });

  const pct = (value: number) => (100 * value).toFixed(2);
  const lines: string[] = [];
  lines.push(`account embeddings: train through ${split.trainEnd}, test ${split.testStart}..${split.testEnd}, ${cases.length} users, ${targetPairs} new (user, author) pairs; seeds = ≤${seedsPerUser} most recent training authors; seed ${seed}`);
  lines.push("");
  lines.push("ranked: score(a) = max over seeds of cosine(seed, a); known authors excluded. Recall/HitRate in %.");
  lines.push(`| method | R@10 | R@50 | R@100 | Hit@10 | Hit@50 | Hit@100 | target coverage | authors with vector | train s |`);
  lines.push(`|---|---|---|---|---|---|---|---|---|---|`);
  for (const r of reports) {
    lines.push(`| ${r.name} | ${NS.map((n) => pct(r.ranked.recall[n] as number)).join(" | ")} | ${NS.map((n) => pct(r.ranked.hitRate[n] as number)).join(" | ")} | ${pct(r.targetCoverage)} | ${r.authorsWithVector ?? "-"} | ${r.seconds ?? "-"} |`);
  }
  lines.push("");
  lines.push(`operator: engaged(max=${seedsPerUser}).account_nn(k=${k}) = union of each seed's ${k} nearest, known authors dropped; beside decayed popularity with as many authors per user.`);
  lines.push(`| method | mean candidates | recall | hit rate | popularity recall (same size) | popularity hit rate (same size) |`);
  lines.push(`|---|---|---|---|---|---|`);
  for (const r of reports) {
    if (r.operator === null) continue;
    const o = r.operator;
    lines.push(`| ${r.name} | ${o.meanCandidates.toFixed(1)} | ${pct(o.recall)} | ${pct(o.hitRate)} | ${pct(o.popularityRecallSameSize)} | ${pct(o.popularityHitRateSameSize)} |`);
  }
  lines.push("");
  lines.push(`tags: share of (author, one of its ${k} nearest) pairs sharing a tag, over the ${tagQueries.length} training-window authors every space embeds; random pairs of embedded authors for reference.`);
  lines.push(`| method | neighbour pairs | random pairs |`);
  lines.push(`|---|---|---|`);
  for (const r of reports) if (r.tags !== null) lines.push(`| ${r.name} | ${pct(r.tags.neighbourPairs)} | ${pct(r.tags.randomPairs)} |`);
  console.log(lines.join("\n"));
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  if (values.json !== undefined) {
    const json = { split: { train_end: split.trainEnd, test_start: split.testStart, test_end: split.testEnd }, seed, seeds_per_user: seedsPerUser, k, users: cases.length, target_pairs: targetPairs, skip_gram: { ...DEFAULT_SKIP_GRAM, ...skipGram }, methods: reports, metrics: Object.fromEntries(spaces.map((space) => [space.name, space.embeddings.metrics])) };
    await writeFile(values.json, `${JSON.stringify(json, null, 2)}\n`);
  }
});
