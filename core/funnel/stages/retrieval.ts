import { executeQuery, planReads, type QueryPlan } from "../../query";
import { retrievalAffinity } from "../../ranking/value-model";
import type { BundleTables } from "../../serving/bundle-tables";
import { topK } from "../../util/top-k";
import { gather } from "../../util/typed-arrays";
import type { ServingConfig, SourceSetting } from "../../config/serving";
import { planSourceQuery } from "../../config/sources";
import type { Candidate, FeedUser, QueryStepCount, SourceHit } from "../types";
import type { FeedState, Stage } from "../feed-state";
import { REQUEST_BUDGETS_MS } from "../../config/budgets";
import { COLD_START_BUDGET_FACTOR, COLD_START_REQUESTS } from "../../config/suggested";
import { withinTimeBudget } from "../../util/time-budget";

/** A source's candidates, best first (typed arrays: every source hands the merge the same kind of list). */
export interface SourceResult {
  readonly items: Int32Array;
  readonly scores: Float64Array;
  readonly note?: string;
  /** Each query step's counts, the queries one after another. */
  readonly steps?: readonly QueryStepCount[];
}

/** Candidates in the mixed retrieval order, best first (ties by item row). */
export function byRetrievalScore(candidates: readonly Candidate[]): Candidate[] {
  return [...candidates].sort((a, b) => b.retrievalScore - a.retrievalScore || a.item - b.item);
}

/**
 * Runs every source that applies (weight and quota above zero; for cold users only those whose `coldUsers` rule
 * admits them), then merges: each source's items get a rank-normalised score 1 − rank/quota times the source's
 * weight, an item's retrieval score is the sum over the sources that found it (plus the mix's exposure and affinity
 * terms), and every source is kept on the item. When more than `maxCandidates` come out, the best by that mixed
 * score go on. The output is not sorted: the first stage orders what it keeps (use `byRetrievalScore` where the
 * mixed order itself matters).
 */
export const retrievalStage: Stage = {
  name: "retrieval",
  async run(state: FeedState): Promise<Candidate[]> {
    const { config } = state.request;
    // One after another: the sources are CPU-bound in this isolate, and interleaving them with Promise.all
    // measured 0.23 ms slower per request.
    const results = [];
    // each source within its time budget, and all of them within retrieval's: a source that waits on a slow port (an
    // item shard, a remote index) is left out, not waited for (core/config/budgets.ts)
    // a bundle's first requests get COLD_START_BUDGET_FACTOR times the budgets, as Suggested Posts' queries do: their
    // code is JIT-compiled as it runs and the runtime's wasm is still compiling in the background
    const served = requestsServed.get(state.bundle.index) ?? 0;
    requestsServed.set(state.bundle.index, served + 1);
    const factor = served < COLD_START_REQUESTS ? COLD_START_BUDGET_FACTOR : 1;
    const retrievalBudgetMs = REQUEST_BUDGETS_MS.retrieval * factor;
    const sourceBudgetMs = REQUEST_BUDGETS_MS.source * factor;
    const deadline = performance.now() + retrievalBudgetMs;
    for (const name of activeSources(state)) {
      const started = performance.now();
      const left = Math.floor(deadline - started);
      if (left <= 0) {
        const note = `skipped: retrieval's time budget of ${retrievalBudgetMs} ms was spent`;
        state.degraded.push(`source ${name} ${note}`);
        results.push({ name, result: { items: new Int32Array(0), scores: new Float64Array(0), note }, ms: 0 });
        continue;
      }
      try {
        const result = await withinTimeBudget(runSource(state, name), Math.min(sourceBudgetMs, left), `source ${name}`);
        results.push({ name, result, ms: performance.now() - started });
      } catch (error) {
        state.degraded.push(`source ${name} failed: ${(error as Error).message}`);
        results.push({ name, result: { items: new Int32Array(0), scores: new Float64Array(0), note: `failed: ${(error as Error).message}` }, ms: performance.now() - started });
      }
    }
    for (const { name, result, ms } of results) state.trace.sources[name] = { candidates: result.items.length, ms, ...(result.note ? { note: result.note } : {}), ...(result.steps ? { steps: result.steps } : {}) };
    const { exposureWeight, affinityWeight } = config.retrieval;
    const embedding = affinityWeight > 0 ? state.retrievalEmbedding : undefined;
    const terms = exposureWeight > 0 || embedding ? mixTerms(state.bundle.tables, config, embedding) : undefined;
    return mergeSourceResults(results, config.retrieval, state.bundle.tables.items.ids.size, terms);
  },
};

/** Requests each bundle version (its serving index, shared by every copy of the bundle) has retrieved for in this isolate. */
const requestsServed = new WeakMap<object, number>();

/** The sources that run for this request, in config order: weight and quota above zero, and the user admitted. */
export function activeSources(state: Pick<FeedState, "request">): string[] {
  const { config, user } = state.request;
  return Object.entries(config.retrieval.sources)
    .filter(([, source]) => source.weight > 0 && source.quota > 0 && admitsUser(source, user))
    .map(([name]) => name);
}

/** Whether a source runs for the user: every source for warm users, cold users per the source's `coldUsers` rule. */
export function admitsUser(source: Pick<SourceSetting, "coldUsers">, user: FeedUser): boolean {
  return !user.cold || source.coldUsers === "always" || (source.coldUsers === "with_features" && user.context.hasFeatures);
}

/**
 * One source's candidates for the request: its queries' candidates (an item several of them found keeps its best
 * score), best first (equal scores: lower item row first), at most `quota` (the configured one by default).
 */
export async function runSource(state: Pick<FeedState, "request" | "stores">, name: string, quota?: number): Promise<SourceResult> {
  const setting = state.request.config.retrieval.sources[name];
  if (!setting) throw new Error(`unknown source ${name}`);
  const wanted = quota ?? setting.quota;
  const plans = sourcePlans(state.request.config, name, wanted);
  // a query that reads only what every user shares (the popular list) is run once per bundle
  const { stores } = state;
  const shared = plans.every((plan) => !planReads(plan, (port) => !stores.sharedAcrossUsers(port)));
  const sharedKey = shared ? `${wanted}\n${plans.map((plan) => plan.text).join("\n;\n")}` : undefined;
  const bundleResults = sharedKey === undefined ? undefined : sharedSourceResults(stores.bundle);
  const known = sharedKey === undefined ? undefined : bundleResults?.get(sharedKey);
  if (known) return known;
  const options = { output: "scores" as const, ...(state.request.clock ? { clock: state.request.clock } : {}) };
  const notes: string[] = [];
  const steps: QueryStepCount[] = [];
  let items: Int32Array = new Int32Array(0);
  let scores: Float64Array = new Float64Array(0);
  for (const plan of plans) {
    const result = await executeQuery(plan, state.stores, { userId: state.stores.userId }, options);
    for (const step of result.trace.steps) steps.push({ operator: step.operator, line: step.line, column: step.column, in: step.countIn, out: step.countOut });
    const empty = result.trace.steps.find((step) => step.countOut === 0);
    if (empty && result.ids.length === 0) notes.push(`${empty.operator} (line ${empty.line}) found nothing`);
    // a query's output holds each item once; several queries' outputs merge, an item keeping its best score
    ({ items, scores } = plans.length === 1 ? { items: result.ids, scores: result.scores } : keepBest(items, scores, result.ids, result.scores));
  }
  const result = { ...bestFirst(items, scores, wanted), steps, ...(notes.length > 0 ? { note: notes.join("; ") } : {}) };
  if (sharedKey !== undefined) bundleResults?.set(sharedKey, result);
  return result;
}

const sharedResults = new WeakMap<object, Map<string, SourceResult>>();

/** The results of shared sources for one bundle (keyed by quota and query text); they go when the bundle does. */
function sharedSourceResults(bundle: object): Map<string, SourceResult> {
  let results = sharedResults.get(bundle);
  if (!results) sharedResults.set(bundle, (results = new Map()));
  return results;
}

/** Two lists merged: an item in both keeps its best score. */
function keepBest(items: Int32Array, scores: Float64Array, moreItems: Int32Array, moreScores: Float64Array): { items: Int32Array; scores: Float64Array } {
  const at = new Map<number, number>();
  const outItems: number[] = [];
  const outScores: number[] = [];
  const add = (item: number, score: number) => {
    const i = at.get(item);
    if (i === undefined) {
      at.set(item, outItems.length);
      outItems.push(item);
      outScores.push(score);
    } else if (score > (outScores[i] as number)) outScores[i] = score;
  };
  items.forEach((item, i) => add(item, scores[i] as number));
  moreItems.forEach((item, i) => add(item, moreScores[i] as number));
  return { items: Int32Array.from(outItems), scores: Float64Array.from(outScores) };
}

/** Best first by score, equal scores by lower item row, at most `count`; most lists arrive in that order already. */
function bestFirst(items: Int32Array, scores: Float64Array, count: number): { items: Int32Array; scores: Float64Array } {
  let ordered = true;
  for (let i = 1; i < items.length && ordered; i++) {
    const previous = scores[i - 1] as number;
    const score = scores[i] as number;
    ordered = previous > score || (previous === score && (items[i - 1] as number) < (items[i] as number));
  }
  if (ordered) return items.length <= count ? { items, scores } : { items: items.subarray(0, count), scores: scores.subarray(0, count) };
  const order = Array.from(items.keys()).sort((a, b) => (scores[b] as number) - (scores[a] as number) || (items[a] as number) - (items[b] as number)).slice(0, count);
  return { items: Int32Array.from(order, (i) => items[i] as number), scores: Float64Array.from(order, (i) => scores[i] as number) };
}

/** Whether one of the source's queries searches with the user's retrieval embedding (the `userNeighbours` port). */
export function sourceUsesUserEmbedding(config: ServingConfig, name: string): boolean {
  const setting = config.retrieval.sources[name];
  return setting !== undefined && sourcePlans(config, name, setting.quota).some((plan) => planReads(plan, (port) => port === "userNeighbours"));
}

const planCache = new WeakMap<ServingConfig["retrieval"]["sources"], Map<string, QueryPlan[]>>();

/** A source's planned queries, once per config object and quota (the config was validated at load). */
function sourcePlans(config: ServingConfig, name: string, quota: number): QueryPlan[] {
  let plans = planCache.get(config.retrieval.sources);
  if (!plans) planCache.set(config.retrieval.sources, (plans = new Map()));
  const key = `${name}:${quota}`;
  let planned = plans.get(key);
  if (!planned) {
    const { query } = config.retrieval.sources[name] as SourceSetting;
    planned = (typeof query === "string" ? [query] : query).map((text) => planSourceQuery(text, quota));
    plans.set(key, planned);
  }
  return planned;
}

let slots = new Int32Array(0);

/** The merge's slot table, all -1, at least `size` long (grown, never shrunk; callers leave it all -1). */
function slotTable(size: number): Int32Array {
  if (slots.length < size) slots = new Int32Array(size).fill(-1);
  return slots;
}

/**
 * The retrieval merge: each source's items get a rank-normalised score 1 − rank/quota times the source's weight, an
 * item's retrieval score is the sum over the sources that found it, and every source is kept on the item. When more
 * than `maxCandidates` come out, the best by that mixed score go on (unsorted). Offline tuning replays it.
 */
export function mergeSourceResults(results: readonly { readonly name: string; readonly result: Pick<SourceResult, "items" | "scores"> }[], retrieval: Pick<ServingConfig["retrieval"], "sources" | "maxCandidates">, catalogueSize: number, itemTerm?: (item: number) => number): Candidate[] {
  // Items index a slot table rather than a Map: ~2,500 hits over a catalogue of a few thousand rows, and the Map's
  // hashing and the spread of its values were most of the merge's time. The table is the isolate's, reset after
  // use: a fresh one per request is an off-heap allocation the size of the catalogue.
  const slotOfItem = slotTable(catalogueSize);
  const merged: Candidate[] = [];
  for (const { name, result } of results) {
    const { weight, quota } = retrieval.sources[name] as SourceSetting;
    const { items, scores } = result;
    const count = Math.min(items.length, quota);
    for (let rank = 0; rank < count; rank++) {
      const item = items[rank] as number;
      const normalised = weight * (1 - rank / quota);
      const hit: SourceHit = { source: name, score: scores[rank] as number, rank };
      const slot = slotOfItem[item] as number;
      if (slot >= 0) {
        const existing = merged[slot] as Candidate;
        existing.sources.push(hit);
        existing.retrievalScore += normalised;
      } else {
        slotOfItem[item] = merged.length;
        // every field the later stages set, present from the start: one object shape, no growing
        merged.push({ item, sources: [hit], retrievalScore: normalised, logPrior: undefined, tailLogPrior: undefined, firstStageScore: undefined, probabilities: undefined, value: undefined, tailValue: undefined, score: normalised });
      }
    }
  }
  for (const candidate of merged) {
    slotOfItem[candidate.item] = -1;
    if (itemTerm) candidate.retrievalScore += itemTerm(candidate.item);
  }
  const cap = retrieval.maxCandidates;
  if (merged.length <= cap) return merged;
  const mixedScores = new Float64Array(merged.length);
  for (let i = 0; i < merged.length; i++) mixedScores[i] = (merged[i] as Candidate).retrievalScore;
  return gather(merged, topK(mixedScores, cap));
}

/** The mix's item terms, a · log(E_i/Ē + π) + b · affinity (`retrieval.exposureWeight`, `affinityWeight`). */
export function mixTerms(tables: BundleTables, config: ServingConfig, userEmbedding: Float32Array | undefined): (item: number) => number {
  const { exposureWeight, affinityWeight } = config.retrieval;
  const share = config.valueModel.exposurePriorShare;
  const { dim, temperature } = tables.manifest.models.retrieval;
  return (item) => {
    let term = exposureWeight === 0 ? 0 : exposureWeight * Math.log(tables.relativeExposure(item) + share);
    if (userEmbedding && affinityWeight !== 0) term += affinityWeight * retrievalAffinity(userEmbedding, tables.retrievalItemEmbeddings, item, dim, temperature);
    return term;
  };
}
