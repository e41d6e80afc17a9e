import { LABELS, type Label } from "../data/labels";
import { ENGAGED_BITS, type Engagement } from "../features/engagement";
import { affinityLogTerm, exposureLogTerm, impressionValue, priorNeedsAffinity, priorSourceScore, retrievalAffinity, retrievalOrderLogTerm } from "../ranking/value-model";
import { historyOf } from "../serving/assets";
import type { BundleTables } from "../serving/bundle-tables";
import type { PassOverRule } from "./feed-state";
import { filterRuleOf, type FilterRule } from "./stages/filters";
import { explorationTail } from "./stages/prior";
import type { PassOver, TracedFeed } from "./trace";
import type { Candidate, FeedUser } from "./types";

/**
 * Why each item of an inspected request is where it is, read off its recorded candidates: the value model's score
 * taken apart term by term, the ranks each ordering gave it, and the rules that moved or dropped it. The terms are
 * computed with the value model's own functions, so they add up to what ranked the item.
 */

/** The Explore value model's score of one item, term by term: score = max(Σ EV terms, floor) · e^(Σ log-prior terms) · integrity factor. */
export interface ValueTerms {
  /** w · P(task) by task: the expected value's terms (hate's weight is negative). */
  readonly expected: Readonly<Record<Label, number>>;
  /** Σ of `expected`, floored as the score floors it. */
  readonly expectedValue: number;
  /** The log prior's terms: exposure α·log(E/Ē + π), affinity β·(cos − 1)/τ, sources Σ γ_s·(1 − rank_s/quota_s). */
  readonly logPrior: { readonly exposure: number; readonly affinity: number; readonly sources: number };
  /** EV · prior: what the second stage scored. */
  readonly value: number;
  /** integrity^k when the rerank downranks by integrity, else 1. */
  readonly integrityFactor: number;
  /** value · integrityFactor: what the page was filled by (before the exploration tail). */
  readonly score: number;
}

/** A rule that changed where an item went. */
export type RuleEffect =
  | { readonly rule: "integrity_downrank"; readonly from: number; readonly to: number }
  | { readonly rule: PassOverRule; readonly positions: readonly number[] }
  | { readonly rule: "exploration_tail"; readonly from: number };

export interface ItemExplanation {
  readonly candidate: Candidate;
  /** 0-based place on the page. */
  readonly position: number;
  /** 1-based rank by the first stage's score among what it scored; undefined without the first-stage model. */
  readonly firstStageRank: number | undefined;
  /** The first stage's distilled log-EV estimate (its score without the log prior). */
  readonly firstStageEstimate: number | undefined;
  /** 1-based rank by the value model alone, and after integrity downranking, among what reached the rerank. */
  readonly valueRank: number;
  readonly scoreRank: number;
  /** Undefined when no MTML scored the item (the second stage degraded to the first stage's order). */
  readonly terms: ValueTerms | undefined;
  readonly rules: readonly RuleEffect[];
}

/** An item retrieval found that the first stage did not keep. */
export interface CutItem {
  readonly candidate: Candidate;
  /** 1-based rank by the first stage's score (by retrieval score without the model) among what it scored. */
  readonly rank: number;
  readonly firstStageEstimate: number | undefined;
}

/** An item a rule removed: a hard rule before ranking, or the per-author cap on the page. */
export interface DroppedItem {
  readonly candidate: Candidate;
  readonly stage: "filters" | "rerank";
  readonly rule: FilterRule | "max_per_author";
}

export interface FeedExplanation {
  readonly items: readonly ItemExplanation[];
  /** Best first. */
  readonly cut: readonly CutItem[];
  readonly dropped: readonly DroppedItem[];
}

export function explainFeed(traced: TracedFeed): FeedExplanation {
  const { state, candidates: trace, result } = traced;
  const { request, bundle } = state;
  const { tables } = bundle;
  const first = trace.of("first_stage");
  const rerank = trace.of("rerank");
  const filters = trace.of("filters");

  const firstStageOrder = first ? [...first.input].sort(byFirstStage) : [];
  const firstStageRank = new Map(firstStageOrder.map((candidate, i) => [candidate, i + 1]));
  const kept = new Set(first?.output);
  const cut = firstStageOrder
    .filter((candidate) => !kept.has(candidate))
    .map((candidate) => ({ candidate, rank: firstStageRank.get(candidate) as number, firstStageEstimate: estimateOf(candidate) }));

  const ranked = rerank?.input ?? [];
  const valueRank = ranks(ranked, (a, b) => (b.value ?? b.score) - (a.value ?? a.score) || a.item - b.item);
  const scoreRank = ranks(ranked, (a, b) => b.score - a.score || a.item - b.item);
  const tail = explorationTail(request.config, request.count);
  const termsOf = valueTermsFor(traced);
  const items = result.candidates.map((candidate, position): ItemExplanation => {
    const rules: RuleEffect[] = [];
    const byValue = valueRank.get(candidate) as number;
    const byScore = scoreRank.get(candidate) as number;
    if (byValue !== byScore) rules.push({ rule: "integrity_downrank", from: byValue, to: byScore });
    rules.push(...passOverEffects(trace.passesOf(candidate)));
    if (tail && position >= tail.from) rules.push({ rule: "exploration_tail", from: tail.from });
    return {
      candidate,
      position,
      firstStageRank: candidate.firstStageScore === undefined ? undefined : firstStageRank.get(candidate),
      firstStageEstimate: estimateOf(candidate),
      valueRank: byValue,
      scoreRank: byScore,
      terms: termsOf(candidate),
      rules,
    };
  });

  const dropped: DroppedItem[] = [];
  if (filters) {
    const passed = new Set(filters.output);
    for (const candidate of filters.input) {
      if (passed.has(candidate)) continue;
      const rule = filterRuleOf(request, tables.items.integrity, candidate.item);
      if (rule) dropped.push({ candidate, stage: "filters", rule });
    }
  }
  if (rerank) {
    const onPage = new Set(rerank.output);
    for (const candidate of rerank.input) {
      if (!onPage.has(candidate) && trace.passesOf(candidate).some((pass) => pass.rule === "max_per_author")) dropped.push({ candidate, stage: "rerank", rule: "max_per_author" });
    }
  }
  return { items, cut, dropped };
}

/** The first stage's order: its score, best first (the retrieval score when it ran without its model), ties by item. */
function byFirstStage(a: Candidate, b: Candidate): number {
  return (b.firstStageScore ?? b.retrievalScore) - (a.firstStageScore ?? a.retrievalScore) || a.item - b.item;
}

function estimateOf(candidate: Candidate): number | undefined {
  return candidate.firstStageScore === undefined ? undefined : candidate.firstStageScore - (candidate.logPrior ?? 0);
}

function ranks(candidates: readonly Candidate[], order: (a: Candidate, b: Candidate) => number): Map<Candidate, number> {
  return new Map([...candidates].sort(order).map((candidate, i) => [candidate, i + 1]));
}

/** Each pass-over rule with the positions it skipped the item at. */
function passOverEffects(passes: readonly PassOver[]): RuleEffect[] {
  const byRule = new Map<PassOverRule, number[]>();
  for (const { rule, position } of passes) {
    const positions = byRule.get(rule);
    if (positions) positions.push(position);
    else byRule.set(rule, [position]);
  }
  return [...byRule].map(([rule, positions]) => ({ rule, positions }));
}

/** The value model's terms of a scored candidate, from the same functions and signals that scored it. */
function valueTermsFor({ state }: TracedFeed): (candidate: Candidate) => ValueTerms | undefined {
  const { request, bundle, retrievalEmbedding } = state;
  const { tables } = bundle;
  const model = request.config.valueModel;
  const { integrityDownrank } = request.config.rerank;
  const { dim, temperature } = tables.manifest.models.retrieval;
  const embedding = priorNeedsAffinity(model) ? retrievalEmbedding : undefined;
  return (candidate) => {
    const { probabilities, item } = candidate;
    if (!probabilities) return undefined;
    const expected = Object.fromEntries(LABELS.map((label, l) => [label, model.weights[label] * (probabilities[l] as number)])) as Record<Label, number>;
    const expectedValue = impressionValue(model, probabilities, 0);
    const logPrior = {
      exposure: exposureLogTerm(model.exposureExponent, model, tables.relativeExposure(item)),
      affinity: embedding ? affinityLogTerm(model, retrievalAffinity(embedding, tables.retrievalItemEmbeddings, item, dim, temperature)) : 0,
      sources: priorSourceScore(model, candidate.sources, request.config.retrieval.sources) + retrievalOrderLogTerm(model, candidate.retrievalScore),
    };
    const value = expectedValue * Math.exp(logPrior.exposure + logPrior.affinity + logPrior.sources);
    const integrityFactor = integrityDownrank > 0 ? Math.pow(tables.items.integrity[item] as number, integrityDownrank) : 1;
    return { expected, expectedValue, logPrior, value, integrityFactor, score: value * integrityFactor };
  };
}

/** One engagement of the user's history, and where the Worker learnt of it. */
export interface HistoryEntry {
  readonly event: Engagement;
  readonly origin: "bundle" | "realtime";
}

/**
 * The user's most recent engagements (any label beyond the impression), newest first: the bundle's training
 * history, then the real-time events the Worker received since.
 */
export function recentHistory(tables: BundleTables, user: FeedUser, limit: number): HistoryEntry[] {
  const bundled = user.row === undefined ? [] : historyOf(tables.histories, user.row).map((event) => ({ event, origin: "bundle" as const }));
  const realtime = user.realtimeEngagements.map((event) => ({ event, origin: "realtime" as const }));
  const engaged = [...bundled, ...realtime].filter(({ event }) => (event.labels & ENGAGED_BITS) !== 0);
  return engaged.slice(-limit).reverse();
}
