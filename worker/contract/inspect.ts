import { z } from "zod";
import { LABELS } from "../../core/data/labels";
import { servingConfigSchema } from "../../core/config/serving";
import { exploreValueModelSchema } from "../../core/config/value-model";
import { configOverrideSchema } from "../../core/funnel/overrides";
import { FILTER_RULES } from "../../core/funnel/stages/filters";
import { entityId, servingInstant } from "./fields";
import { errorResponses } from "./errors";
import type { ResponseOf, RouteContract } from "./route";

export const inspectRequest = z.strictObject({
  user_id: entityId,
  count: z.number().int().min(1).max(100).default(30),
  surface: z.number().int().min(0).max(1000).optional(),
  weights: configOverrideSchema.optional().meta({ description: "Overrides of the serving config, as `POST /v1/explore` takes them: inspect the user under another config." }),
  at_ms: servingInstant.optional(),
  cut_limit: z.number().int().min(0).max(2000).default(100).meta({ description: "How many of the items the first stage cut (best first) and of those a rule dropped to list; `cut.total` and `dropped.total` count them all." }),
  history_limit: z.number().int().min(0).max(200).default(20).meta({ description: "How many of the user's most recent engagements to list." }),
});

const int = z.number().int();
const probabilities = z.record(z.enum(LABELS), z.number());
const sourceHit = z.strictObject({ source: z.string(), rank: int.meta({ description: "1-based rank in the source's own list." }), score: z.number().meta({ description: "The source's own score." }) });

const valueTerms = z.strictObject({
  expected: probabilities.meta({ description: "w · P(task) by task: the expected value's terms (hate's weight is negative)." }),
  expected_value: z.number().meta({ description: "Σ w · P, floored as the score floors it." }),
  log_prior: z.strictObject({
    exposure: z.number().meta({ description: "α · log(E_i/Ē + π)." }),
    affinity: z.number().meta({ description: "β · (cos − 1)/τ of the retrieval two-tower." }),
    sources: z.number().meta({ description: "Σ_s γ_s · (1 − rank_s/quota_s) over the sources that found the item, plus η times its retrieval score." }),
  }),
  prior: z.number().meta({ description: "e^(Σ log-prior terms)." }),
  value: z.number().meta({ description: "expected_value · prior: the second stage's score." }),
  integrity_factor: z.number().meta({ description: "integrity^k when the rerank downranks by integrity, else 1." }),
  score: z.number().meta({ description: "value · integrity_factor: what filled the page (before the exploration tail)." }),
});

const ruleEffect = z.union([
  z.strictObject({ rule: z.literal("integrity_downrank"), from: int, to: int }).meta({ description: "Integrity downranking moved the item from its rank by value to another rank by score (1-based)." }),
  z.strictObject({ rule: z.enum(["max_per_author", "no_adjacent_same_author"]), positions: z.array(int) }).meta({ description: "An author rule passed the item over at these page positions (1-based)." }),
  z.strictObject({ rule: z.literal("exploration_tail"), from: int }).meta({ description: "The item's place was chosen by the exploration tail's score, which orders the page from position `from` (1-based)." }),
]);

const firstStage = z.strictObject({
  rank: int.meta({ description: "1-based, among the candidates the first stage scored." }),
  score: z.number().meta({ description: "estimate + log prior: what the first stage kept by." }),
  estimate: z.number().meta({ description: "The distilled two-tower's estimate of log EV." }),
});

export const inspectedItem = z.strictObject({
  position: int.meta({ description: "1-based place on the page." }),
  item_id: z.string(),
  author_id: z.string(),
  score: z.number(),
  sources: z.array(sourceHit),
  retrieval_score: z.number().meta({ description: "The retrieval mix's score." }),
  first_stage: firstStage.nullable().meta({ description: "Null when the first-stage model is missing (the retrieval score cut)." }),
  p: probabilities.nullable().meta({ description: "Every task's probability as the value model read it (through the feedback maps only with `calibration.feedbackInRanking`); null when no MTML scored the item." }),
  value: valueTerms.nullable(),
  tail_value: z.number().nullable().meta({ description: "The value under the exploration tail's prior, when the page has a tail." }),
  value_rank: int.meta({ description: "1-based rank by the value model alone, among what reached the rerank." }),
  score_rank: int.meta({ description: "1-based rank after integrity downranking." }),
  rules: z.array(ruleEffect).meta({ description: "The rules that moved the item." }),
  item_counters: z
    .strictObject({
      impressions: z.number(),
      decayed_impressions: z.number(),
      decayed_clicks: z.number(),
      relative_exposure: z.number().meta({ description: "E_i/Ē: decayed impressions over the catalogue's mean, what the prior's exposure term reads." }),
    })
    .meta({ description: "The item's counters as of `counters.as_of`, as its features and the prior read them." }),
});

const cutItem = z.strictObject({
  rank: int.meta({ description: "1-based rank by the first stage's score (the retrieval score without the model)." }),
  item_id: z.string(),
  author_id: z.string(),
  sources: z.array(sourceHit),
  retrieval_score: z.number(),
  first_stage: firstStage.omit({ rank: true }).nullable(),
});

const droppedItem = z.strictObject({
  item_id: z.string(),
  author_id: z.string(),
  stage: z.enum(["filters", "rerank"]),
  rule: z.enum([...FILTER_RULES, "max_per_author"]),
  sources: z.array(sourceHit),
});

const historyEntry = z.strictObject({
  item_id: z.string(),
  author_id: z.string(),
  at: z.iso.datetime(),
  surface: int,
  labels: z.array(z.enum(LABELS)),
  origin: z.enum(["bundle", "realtime"]).meta({ description: "The bundle's training history, or an event the Worker received since." }),
});

const { retrieval, rerank } = servingConfigSchema.shape;

export const inspection = z.strictObject({
  request_id: z.uuid(),
  user_id: z.string(),
  model_version: z.string(),
  cold_start: z.boolean(),
  degraded: z.boolean(),
  degraded_reasons: z.array(z.string()),
  counters: z
    .strictObject({
      as_of: z.iso.datetime().meta({ description: "The instant the item and author counters describe: the start of the request's local day (as training computes a row's counters), never before the bundle's snapshot." }),
      realtime_impressions: int.meta({ description: "Impressions that POST /v1/events took after the bundle's snapshot and before `as_of`, added to the bundle's counters." }),
      realtime_items: int,
      unknown_items: int.meta({ description: "Items of those impressions the bundle does not know (their counts wait for the next bundle)." }),
    })
    .meta({ description: "Where the item and author counters that features and the value model read come from." }),
  feedback_calibration: z
    .strictObject({
      period: z.iso.datetime().nullable().meta({ description: "The start of the hour the maps are in force for; null when none were read." }),
      impressions: int.meta({ description: "Closed impressions of served items, with the model's prediction recorded, that the maps were fitted on (the last 24 closed hours)." }),
      maps: z.partialRecord(z.enum(LABELS), z.strictObject({ a: z.number(), b: z.number() })).meta({ description: "Per task, the Platt map σ(a·logit(p) + b) applied after the bundle's calibrator; a task without one is served as the bundle calibrates it." }),
      problem: z.string().nullable().meta({ description: "Why no maps apply (switched off, or the trending object unreachable); the feed is then scored with the bundle's calibration alone." }),
    })
    .meta({ description: "Calibration from feedback: maps refitted every hour from what served items' impressions turned out to be." }),
  user: z.strictObject({
    known: z.boolean().meta({ description: "Whether the bundle's user table knows the id." }),
    engaged_items: int,
    realtime_events: int,
    seen_items: int,
    followed_authors: int,
    history: z.array(historyEntry).meta({ description: "The most recent engagements, newest first." }),
  }),
  config: z.strictObject({ sources: retrieval.shape.sources, value_model: exploreValueModelSchema, first_stage_keep: int, rerank }),
  stages: z.array(z.strictObject({ stage: z.string(), in: int, out: int, ms: z.number() })),
  sources: z.record(z.string(), z.strictObject({ candidates: int, ms: z.number(), note: z.string().optional() })),
  rules: z.array(z.strictObject({ rule: z.string(), removed: int.optional(), moved: int.optional() })),
  items: z.array(inspectedItem),
  cut: z.strictObject({ total: int, items: z.array(cutItem) }).meta({ description: "What retrieval found (and the filters let through) that the first stage did not keep, best first." }),
  dropped: z.strictObject({ total: int, items: z.array(droppedItem) }).meta({ description: "What a rule removed: the hard rules before ranking, and the per-author cap on the page." }),
});

export const inspectRoute = {
  operationId: "inspect",
  method: "post",
  path: "/v1/inspect",
  tag: "operations",
  summary: "Why a user's Explore feed is what it is",
  description:
    "Runs the Explore funnel for the user (never a precomputed feed) with every candidate recorded, and answers what `GET /inspect` shows: the user's recent history, each item's sources, first-stage score, task probabilities, value-model terms and the rules that moved it, each stage's counts and time, and what the first stage cut. The same request with `weights` shows the user under another config.",
  auth: { token: "ADMIN_TOKEN" },
  body: { name: "InspectRequest", schema: inspectRequest, maxBytes: 64 * 1024 },
  responses: { 200: { description: "The inspection.", name: "Inspection", schema: inspection }, ...errorResponses(400, 401, 413, 429, 500, 503) },
} satisfies RouteContract;

export type Inspection = ResponseOf<typeof inspection>;
export type InspectedItem = Inspection["items"][number];
