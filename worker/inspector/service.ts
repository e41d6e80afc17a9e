import { LABELS } from "../../core/data/labels";
import { hasLabel } from "../../core/features/engagement";
import { explainFeed, recentHistory, type ItemExplanation, type RuleEffect, type ValueTerms } from "../../core/funnel/explain";
import type { ConfigOverride } from "../../core/funnel/overrides";
import { runTracedFeed } from "../../core/funnel/trace";
import type { Candidate } from "../../core/funnel/types";
import type { BundleTables } from "../../core/serving/bundle-tables";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import type { InspectedItem, Inspection } from "../contract/inspect";
import { probabilitiesByLabel, round } from "../feeds/explore-items";
import { hydrateFeedRequest } from "../feeds/request";

export interface InspectInput {
  readonly userId: string;
  readonly count: number;
  readonly surface: number | undefined;
  readonly weights: ConfigOverride | undefined;
  readonly cutLimit: number;
  readonly historyLimit: number;
}

/**
 * One inspection: the request set up as a feed request would be (real-time state, the config in effect and the
 * overrides), the Explore funnel run with every candidate recorded, and the answer in the caller's ids.
 */
export async function inspectUser(env: Env, bundle: ServingBundle, input: InspectInput, nowMs: number): Promise<Omit<Inspection, "request_id">> {
  const { request, bundle: served, counters, feedback, problems, realtimeEvents } = await hydrateFeedRequest(env, bundle, { userId: input.userId, count: input.count, exclude: [], weights: input.weights }, nowMs, (config) => input.surface ?? config.defaultSurface);
  // `served` is the bundle with its counters advanced to the request's day (worker/feeds/live-counters.ts)
  const traced = await runTracedFeed(served, request);
  const { items, cut, dropped } = explainFeed(traced);
  const { user, config } = request;
  const { tables } = served;
  const ids = tables.items.ids;
  const authorOf = (item: number) => tables.items.authors.id(tables.items.author[item] as number);
  const sourcesOf = (candidate: Candidate) => candidate.sources.map((hit) => ({ source: hit.source, rank: hit.rank + 1, score: sig(hit.score) }));
  const degraded = [...traced.result.degraded, ...problems];
  return {
    user_id: input.userId,
    model_version: tables.version,
    cold_start: user.cold,
    degraded: degraded.length > 0,
    degraded_reasons: degraded,
    counters: { as_of: new Date(counters.asOfMs).toISOString(), realtime_impressions: counters.realtimeImpressions, realtime_items: counters.realtimeItems, unknown_items: counters.unknownItems },
    feedback_calibration: {
      period: feedback.periodMs === undefined ? null : new Date(feedback.periodMs).toISOString(),
      impressions: feedback.impressions ?? 0,
      maps: Object.fromEntries(Object.entries(feedback.maps).flatMap(([label, map]) => (map.method === "platt" ? [[label, { a: sig(map.a), b: sig(map.b) }]] : []))),
      problem: feedback.problem ?? null,
    },
    user: {
      known: user.row !== undefined,
      engaged_items: user.engagements,
      realtime_events: realtimeEvents,
      seen_items: user.seen.size,
      followed_authors: user.followedAuthors.size,
      history: recentHistory(tables, user, input.historyLimit).map(({ event, origin }) => ({
        item_id: ids.id(event.item),
        author_id: authorOf(event.item),
        at: new Date(event.ts).toISOString(),
        surface: event.surface,
        labels: LABELS.filter((label) => hasLabel(event.labels, label)),
        origin,
      })),
    },
    config: { sources: config.retrieval.sources, value_model: config.valueModel, first_stage_keep: config.firstStage.keep, rerank: config.rerank },
    stages: traced.result.trace.stages.map((stage) => ({ stage: stage.stage, in: stage.in, out: stage.out, ms: round(stage.ms) })),
    sources: Object.fromEntries(Object.entries(traced.result.trace.sources).map(([name, source]) => [name, { candidates: source.candidates, ms: round(source.ms), ...(source.note ? { note: source.note } : {}) }])),
    rules: traced.result.trace.rules.map(({ rule, removed, moved }) => ({ rule, ...(removed === undefined ? {} : { removed }), ...(moved === undefined ? {} : { moved }) })),
    items: items.map((explained) => inspectedItem(explained, ids.id(explained.candidate.item), authorOf(explained.candidate.item), sourcesOf(explained.candidate), itemCountersOf(tables, explained.candidate.item))),
    cut: {
      total: cut.length,
      items: cut.slice(0, input.cutLimit).map(({ candidate, rank, firstStageEstimate }) => ({
        rank,
        item_id: ids.id(candidate.item),
        author_id: authorOf(candidate.item),
        sources: sourcesOf(candidate),
        retrieval_score: sig(candidate.retrievalScore),
        first_stage: candidate.firstStageScore === undefined || firstStageEstimate === undefined ? null : { score: sig(candidate.firstStageScore), estimate: sig(firstStageEstimate) },
      })),
    },
    dropped: {
      total: dropped.length,
      items: dropped.slice(0, input.cutLimit).map(({ candidate, stage, rule }) => ({ item_id: ids.id(candidate.item), author_id: authorOf(candidate.item), stage, rule, sources: sourcesOf(candidate) })),
    },
  };
}

/** Six significant digits: the value model's scores span many orders of magnitude, so fixed decimals would flatten the small ones to 0. */
function sig(value: number): number {
  return Number(value.toPrecision(6));
}

function itemCountersOf(tables: BundleTables, item: number): InspectedItem["item_counters"] {
  const counters = tables.itemCounters;
  return { impressions: counters.impressions[item] as number, decayed_impressions: sig(counters.decayedImpressions[item] as number), decayed_clicks: sig(counters.decayedClicks[item] as number), relative_exposure: sig(tables.relativeExposure(item)) };
}

function inspectedItem(explained: ItemExplanation, itemId: string, authorId: string, sources: InspectedItem["sources"], itemCounters: InspectedItem["item_counters"]): InspectedItem {
  const { candidate } = explained;
  return {
    position: explained.position + 1,
    item_id: itemId,
    author_id: authorId,
    score: sig(candidate.score),
    sources,
    retrieval_score: sig(candidate.retrievalScore),
    first_stage:
      candidate.firstStageScore === undefined || explained.firstStageRank === undefined || explained.firstStageEstimate === undefined
        ? null
        : { rank: explained.firstStageRank, score: sig(candidate.firstStageScore), estimate: sig(explained.firstStageEstimate) },
    p: candidate.probabilities ? probabilitiesByLabel(candidate.probabilities) : null,
    value: explained.terms ? valueTermsBody(explained.terms) : null,
    tail_value: candidate.tailValue === undefined ? null : sig(candidate.tailValue),
    value_rank: explained.valueRank,
    score_rank: explained.scoreRank,
    rules: explained.rules.map(ruleEffectBody),
    item_counters: itemCounters,
  };
}

function valueTermsBody(terms: ValueTerms): NonNullable<InspectedItem["value"]> {
  const { exposure, affinity, sources } = terms.logPrior;
  return {
    expected: Object.fromEntries(LABELS.map((label) => [label, sig(terms.expected[label])])) as NonNullable<InspectedItem["value"]>["expected"],
    expected_value: sig(terms.expectedValue),
    log_prior: { exposure: sig(exposure), affinity: sig(affinity), sources: sig(sources) },
    prior: sig(Math.exp(exposure + affinity + sources)),
    value: sig(terms.value),
    integrity_factor: sig(terms.integrityFactor),
    score: sig(terms.score),
  };
}

/** Positions go out 1-based, as the page numbers them. */
function ruleEffectBody(effect: RuleEffect): InspectedItem["rules"][number] {
  switch (effect.rule) {
    case "integrity_downrank":
      return effect;
    case "exploration_tail":
      return { rule: effect.rule, from: effect.from + 1 };
    default:
      return { rule: effect.rule, positions: effect.positions.map((position) => position + 1) };
  }
}
