/**
 * npm run eval:accounts -- [--data <dir>] [--train-end YYYYMMDD] [--test-start YYYYMMDD] [--test-end YYYYMMDD]
 *                          [--bundle <dir> | --no-bundle] [--seed N] [--seeds-per-user N] [--k N] [--json <file>]
 *                          [--head N] [--dim N] [--window N] [--negatives N] [--min-count N] [--subsample T] [--epochs N]
 *                          [--lr X] [--optimizer adam|sgd] [--output target|target+context]
 *
 * Which account embeddings give better `account_nn` neighbours? Learns skip-gram embeddings on the training window,
 * aggregates the bundle's retrieval item embeddings (trained on the same window) per author, and measures both beside
 * author popularity: for each user, the seeds are their most recent training-window authors; the targets are the
 * authors they engage with in the test window and never did before. See models/README.md, "Account embeddings".
 * --no-bundle measures the skip-gram alone (no item embeddings needed), e.g. to tune it on an earlier split.
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
  beyondHead,
  maskVectors,
  newAuthorCases,
  operatorRecall,
  recallAtN,
  tagAgreement,
  targetsWithin,
  topAuthorsExcept,
  type NewAuthorCase,
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
import { decodeEmbeddings, embeddingFormatSchema } from "../../core/serving/embedding-codec";

const USAGE =
  "usage: npm run eval:accounts -- [--data <dir>] [--train-end YYYYMMDD] [--test-start YYYYMMDD] [--test-end YYYYMMDD] [--bundle <dir> | --no-bundle] [--seed N] [--seeds-per-user N] [--k N] [--head N] [--json <file>] [--dim N] [--window N] [--negatives N] [--min-count N] [--subsample T] [--epochs N] [--lr X] [--optimizer adam|sgd] [--output target|target+context]";
const NS = [10, 50, 100] as const;

interface MethodRow {
  readonly name: string;
  /** Share of the view's (user, new author) targets the method can return at all (has a vector / an engagement). */
  readonly coverage: number;
  readonly ranked: RecallReport;
}

interface ViewReport {
  readonly view: string;
  readonly users: number;
  readonly targetPairs: number;
  readonly methods: readonly MethodRow[];
}

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "data/kuairand-pure" },
      "train-end": { type: "string", default: "20220503" },
      "test-start": { type: "string", default: "20220504" },
      "test-end": { type: "string" },
      bundle: { type: "string" },
      "no-bundle": { type: "boolean", default: false },
      seed: { type: "string", default: "1" },
      "seeds-per-user": { type: "string", default: "30" },
      k: { type: "string", default: "10" },
      head: { type: "string", default: "100" },
      json: { type: "string" },
      dim: { type: "string" },
      window: { type: "string" },
      negatives: { type: "string" },
      "min-count": { type: "string" },
      subsample: { type: "string" },
      epochs: { type: "string" },
      lr: { type: "string" },
      optimizer: { type: "string" },
      output: { type: "string" },
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
  const headSize = integer("head", values.head, 1);
  if (values.optimizer !== undefined && values.optimizer !== "adam" && values.optimizer !== "sgd") throw new UsageError(`--optimizer must be adam or sgd, got ${values.optimizer}`);
  if (values.output !== undefined && values.output !== "target" && values.output !== "target+context") throw new UsageError(`--output must be target or target+context, got ${values.output}`);
  const skipGram: Partial<Omit<SkipGramOptions, "seed" | "log">> = {
    ...(values.dim !== undefined && { dim: integer("dim", values.dim, 1) }),
    ...(values.window !== undefined && { window: integer("window", values.window, 1) }),
    ...(values.negatives !== undefined && { negatives: integer("negatives", values.negatives, 1) }),
    ...(values["min-count"] !== undefined && { minCount: integer("min-count", values["min-count"], 1) }),
    ...(values.subsample !== undefined && { subsample: positive("subsample", values.subsample, true) }),
    ...(values.epochs !== undefined && { epochs: integer("epochs", values.epochs, 1) }),
    ...(values.lr !== undefined && { learningRate: positive("lr", values.lr) }),
    ...(values.optimizer !== undefined && { optimizer: values.optimizer as SkipGramOptions["optimizer"] }),
    ...(values.output !== undefined && { output: values.output as SkipGramOptions["output"] }),
  };
  const started = performance.now();
  const log = (line: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);

  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  const split = splitByDate(dataset, { trainEnd: values["train-end"], testStart: values["test-start"], testEnd: values["test-end"] });
  const train = trainingData(dataset, split);
  log(`loaded ${values.data}: train through ${split.trainEnd} (${split.train.size} events), test ${split.testStart}..${split.testEnd} (${split.test.size} events)`);

  // --- the retrieval item embeddings of a bundle trained on exactly this training window ---
  let itemEmbeddings: { vectors: Float32Array; dim: number } | null = null;
  if (!values["no-bundle"]) {
    const directory = values.bundle ?? defaultBundleDirectory(split.trainEnd);
    if (values.bundle === undefined) await ensureBundle(directory, values.data, split.trainEnd, log);
    const bundle = await loadBundleDirectory(directory);
    const manifest = bundle.manifest as unknown as { data?: { train_end?: string }; models?: { retrieval?: { item_embeddings?: string; item_embeddings_format?: unknown; dim?: number } } };
    if (manifest.data?.train_end !== split.trainEnd) {
      throw new UsageError(`--bundle ${directory} was trained through ${manifest.data?.train_end}, but this split trains through ${split.trainEnd}: the item embeddings must come from the same training window (a later one has seen test days)`);
    }
    const embeddingsPath = manifest.models?.retrieval?.item_embeddings;
    const itemDim = manifest.models?.retrieval?.dim;
    if (embeddingsPath === undefined || itemDim === undefined) throw new UsageError(`${directory}/manifest.json has no models.retrieval.item_embeddings / dim`);
    const bytes = await readFile(join(directory, ...embeddingsPath.split("/")));
    const format = embeddingFormatSchema.default("f32").safeParse(manifest.models?.retrieval?.item_embeddings_format);
    if (!format.success) throw new UsageError(`${directory}/manifest.json: unknown models.retrieval.item_embeddings_format`);
    let itemVectors: Float32Array;
    try {
      itemVectors = decodeEmbeddings(bytes, dataset.items.ids.size, itemDim, format.data);
    } catch (error) {
      throw new UsageError(`${embeddingsPath}: ${(error as Error).message}`);
    }
    itemEmbeddings = { vectors: itemVectors, dim: itemDim };
    log(`item embeddings: ${directory}/${embeddingsPath} (${dataset.items.ids.size} × ${itemDim})`);
  }

  // --- account embeddings, both ways ---
  const spaces: { name: string; embeddings: AccountEmbeddings }[] = [
    { name: "skip-gram", embeddings: trainAccountEmbeddings(train, { seed, method: "skip-gram", skipGram, log: (line) => log(`  ${line}`) }) },
  ];
  if (itemEmbeddings !== null) {
    spaces.push(
      { name: "item-mean", embeddings: trainAccountEmbeddings(train, { seed, method: "item-mean", itemEmbeddings, itemWeighting: "mean", log }) },
      { name: "item-mean (engagement-weighted)", embeddings: trainAccountEmbeddings(train, { seed, method: "item-mean", itemEmbeddings, itemWeighting: "engagements", log }) },
    );
  }

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

  // --- three views of the task ---
  // all: every method with its own coverage (what the pipeline would serve).
  // same authors: candidates and targets limited to the authors the skip-gram embeds (every space covers them), so
  //   the comparison is about neighbour quality, not about which authors a method can reach.
  // beyond the head: the `head` most popular training authors are never targets nor candidates.
  const skipGramVectors = new AccountVectors((spaces[0] as (typeof spaces)[number]).embeddings.vectors, (spaces[0] as (typeof spaces)[number]).embeddings.dim);
  const sameAuthors = new Set(skipGramVectors.embedded);
  const head = new Set(countOrder.subarray(0, headSize));
  const views = [
    { name: "all", cases, universe: null as ReadonlySet<number> | null },
    { name: `same authors (the ${sameAuthors.size} the skip-gram embeds)`, cases: targetsWithin(cases, sameAuthors), universe: sameAuthors as ReadonlySet<number> | null },
    { name: `beyond the head (the ${headSize} most engaged training authors excluded)`, cases: beyondHead(cases, head), universe: null },
  ];
  const maxN = Math.max(...NS);
  const coverage = (viewCases: readonly NewAuthorCase[], has: (author: number) => boolean) => {
    let pairs = 0, covered = 0;
    for (const c of viewCases) for (const author of c.targets) {
      pairs++;
      if (has(author)) covered++;
    }
    return covered / pairs;
  };

  const tags = authorTagSets(dataset.items);
  const reports: ViewReport[] = [];
  const operators: { name: string; report: OperatorReport }[] = [];
  const tagReports: { name: string; report: TagAgreement }[] = [];
  // tag agreement over the same query authors for every space: training authors that every space embeds
  const spaceVectors = spaces.map((space) => new AccountVectors(space.embeddings.vectors, space.embeddings.dim));
  const tagQueries = Array.from(countOrder).filter((author) => spaceVectors.every((vectors) => vectors.hasVector(author))).sort((a, b) => a - b);
  for (const view of views) {
    const cacheLength = Math.max(maxN + Math.max(...view.cases.map((c) => c.known.size)), k + seedsPerUser);
    const methods: MethodRow[] = [];
    spaces.forEach((space, s) => {
      const full = spaceVectors[s] as AccountVectors;
      const vectors = view.universe === null ? full : new AccountVectors(maskVectors(space.embeddings.vectors, space.embeddings.dim, view.universe), space.embeddings.dim);
      const cache = new NeighbourCache(vectors, cacheLength);
      methods.push({ name: space.name, coverage: coverage(view.cases, (author) => vectors.hasVector(author)), ranked: recallAtN(view.cases, embeddingRanker(cache), NS) });
      if (view.universe === null && view.cases === cases) {
        operators.push({ name: space.name, report: operatorRecall(cases, cache, k, decayedOrder) });
        tagReports.push({ name: space.name, report: tagAgreement(cache, tagQueries, k, tags, seed) });
      }
    });
    for (const [name, order, scores] of [["popularity (decayed)", decayedOrder, decayed], ["popularity (count)", countOrder, counts]] as const) {
      const within = view.universe === null ? order : order.filter((author) => (view.universe as ReadonlySet<number>).has(author));
      methods.push({ name, coverage: coverage(view.cases, (author) => (scores[author] as number) > 0 && (view.universe === null || view.universe.has(author))), ranked: recallAtN(view.cases, (_seeds, known, n) => topAuthorsExcept(within, known, n), NS) });
    }
    const rng = new Rng(seed);
    const all = view.universe === null ? Int32Array.from({ length: authorCount }, (_, a) => a) : Int32Array.from(view.universe);
    methods.push({ name: "random", coverage: 1, ranked: recallAtN(view.cases, (_seeds, known, n) => topAuthorsExcept(rng.shuffle(all), known, n), NS) });
    reports.push({ view: view.name, users: view.cases.length, targetPairs: view.cases.reduce((sum, c) => sum + c.targets.size, 0), methods });
    log(`view "${view.name}" evaluated`);
  }

  const pct = (value: number) => (100 * value).toFixed(2);
  const lines: string[] = [];
  lines.push(`account embeddings: train through ${split.trainEnd}, test ${split.testStart}..${split.testEnd}; seeds = ≤${seedsPerUser} most recent training authors per user; seed ${seed}`);
  lines.push("");
  lines.push("| method | dim | authors with vector | train s |");
  lines.push("|---|---|---|---|");
  for (const space of spaces) lines.push(`| ${space.name} | ${space.embeddings.dim} | ${space.embeddings.metrics.authors_with_vector} of ${authorCount} | ${space.embeddings.metrics.seconds} |`);
  for (const report of reports) {
    lines.push("");
    lines.push(`ranked, ${report.view}: ${report.users} users, ${report.targetPairs} new (user, author) pairs. score(a) = max over seeds of cosine(seed, a), known authors excluded; recall and hit rate in %; coverage = targets the method can return`);
    lines.push("| method | R@10 | R@50 | R@100 | Hit@10 | Hit@50 | Hit@100 | coverage |");
    lines.push("|---|---|---|---|---|---|---|---|");
    for (const r of report.methods) {
      lines.push(`| ${r.name} | ${NS.map((n) => pct(r.ranked.recall[n] as number)).join(" | ")} | ${NS.map((n) => pct(r.ranked.hitRate[n] as number)).join(" | ")} | ${pct(r.coverage)} |`);
    }
  }
  lines.push("");
  lines.push(`operator, all: engaged(max=${seedsPerUser}).account_nn(k=${k}) = union of each seed's ${k} nearest (seeds excluded), known authors dropped; beside decayed popularity with as many authors per user (%)`);
  lines.push("| method | mean candidates | recall | hit rate | popularity recall (same size) | popularity hit rate (same size) |");
  lines.push("|---|---|---|---|---|---|");
  for (const { name, report: o } of operators) {
    lines.push(`| ${name} | ${o.meanCandidates.toFixed(1)} | ${pct(o.recall)} | ${pct(o.hitRate)} | ${pct(o.popularityRecallSameSize)} | ${pct(o.popularityHitRateSameSize)} |`);
  }
  lines.push("");
  lines.push(`tags: share of (author, one of its ${k} nearest) pairs sharing a tag, over the ${tagQueries.length} training authors every space embeds; random pairs of embedded authors for reference (%)`);
  lines.push("| method | neighbour pairs | random pairs |");
  lines.push("|---|---|---|");
  for (const { name, report: t } of tagReports) lines.push(`| ${name} | ${pct(t.neighbourPairs)} | ${pct(t.randomPairs)} |`);
  // --- serving cost of the port on each space: one user's seeds per call, as account_nn asks (k + 1 per seed) ---
  lines.push("");
  lines.push(`cost: AccountVectors.neighboursOfEach(seeds, ${k + 1}) per call, one call per user for the first ${Math.min(500, cases.length)} users (≤${seedsPerUser} seeds each), after 50 warm-up calls; ms`);
  lines.push("| method | median | p90 | mean seeds |");
  lines.push("|---|---|---|---|");
  const sample = cases.slice(0, 500);
  spaces.forEach((space, s) => {
    const vectors = spaceVectors[s] as AccountVectors;
    for (const c of sample.slice(0, 50)) vectors.neighboursOfEach(Array.from(c.seeds), k + 1);
    const times = sample.map((c) => {
      const t0 = performance.now();
      vectors.neighboursOfEach(Array.from(c.seeds), k + 1);
      return performance.now() - t0;
    }).sort((a, b) => a - b);
    const at = (q: number) => (times[Math.min(times.length - 1, Math.floor(q * times.length))] as number).toFixed(2);
    lines.push(`| ${space.name} | ${at(0.5)} | ${at(0.9)} | ${(sample.reduce((sum, c) => sum + c.seeds.length, 0) / sample.length).toFixed(1)} |`);
  });
  console.log(lines.join("\n"));
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  if (values.json !== undefined) {
    const json = {
      split: { train_end: split.trainEnd, test_start: split.testStart, test_end: split.testEnd },
      seed, seeds_per_user: seedsPerUser, k, head: headSize,
      skip_gram: { ...DEFAULT_SKIP_GRAM, ...skipGram },
      embeddings: Object.fromEntries(spaces.map((space) => [space.name, space.embeddings.metrics])),
      views: reports, operator: operators, tags: tagReports,
    };
    await writeFile(values.json, `${JSON.stringify(json, null, 2)}\n`);
  }
});
