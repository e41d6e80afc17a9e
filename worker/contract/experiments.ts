import { z } from "zod";
import { configOverrideSchema } from "../../core/config/override";
import { LABELS, type Label } from "../../core/data/labels";
import { INTERACTION_TYPES, type InteractionType } from "../../core/realtime/events";
import { errorResponses } from "./errors";
import type { ResponseOf, RouteContract } from "./route";

/** What every feed answer says about the experiments it was served under. */
export const servedArms = z
  .array(z.strictObject({ experiment: z.string(), arm: z.string() }))
  .meta({
    description:
      "The user's arm in each running experiment of the serving config (empty when none runs, or when no bundle is usable and the popular fallback answered). The arm's override was applied before the request's own `weights`. Events of this user count under these arms (`GET /v1/admin/experiments/{name}`).",
  });

const rate = z.strictObject({
  count: z.number().int().meta({ description: "Events of this type counted for the arm." }),
  rate: z.number().nullable().meta({ description: "count / impressions; null without impressions." }),
  ci95: z
    .tuple([z.number(), z.number()])
    .nullable()
    .meta({ description: "Wilson 95% interval of the rate, treating impressions as independent trials; null without impressions or when count exceeds impressions." }),
});

const armReport = z.strictObject({
  arm: z.string(),
  weight: z.number().nullable().meta({ description: "The arm's weight in the config; null for an arm that has counts but is no longer configured." }),
  share: z.number().nullable().meta({ description: "weight / the sum of the experiment's weights: the share of users the arm should get." }),
  override: configOverrideSchema.nullable(),
  users: z.number().int().meta({ description: "Distinct users with at least one counted event." }),
  impressions: z.number().int(),
  events: z.strictObject(Object.fromEntries(INTERACTION_TYPES.map((type) => [type, z.number().int()])) as Record<InteractionType, z.ZodNumber>).meta({ description: "Counted events by type." }),
  rates: z.strictObject(Object.fromEntries(LABELS.map((label) => [label, rate])) as Record<Label, typeof rate>).meta({ description: "Each engagement per impression (click, like and hate among them)." }),
});

export const experimentReport = z.strictObject({
  experiment: z.string(),
  running: z.boolean(),
  start_ms: z.number().int().nullable().meta({ description: "Events before it are not counted; null counts every event received while the experiment runs." }),
  counted_events: z.number().int().meta({ description: "Events counted over all arms (each event_id once)." }),
  arms: z.array(armReport),
});

export const experimentName = z.string().min(1).max(64).meta({ description: "The experiment's name in the serving config." });

export const experimentReportRoute = {
  operationId: "getExperiment",
  method: "get",
  path: "/v1/admin/experiments/{name}",
  tag: "admin",
  summary: "An experiment's counts and rates per arm",
  description:
    "Counted from the events `POST /v1/events` received while the experiment ran: each impression and engagement under the arm its user is assigned to (a stable hash of the experiment and the user id). An engagement with an item served before the experiment began counts under the user's arm too, unless its `ts` is before the experiment's `startMs`.",
  auth: { token: "ADMIN_TOKEN" },
  params: { name: experimentName },
  responses: { 200: { description: "Per arm: users, impressions, events and rates with intervals.", name: "ExperimentReport", schema: experimentReport }, ...errorResponses(401, 404, 429, 500, 503) },
} satisfies RouteContract;

export type ExperimentReport = ResponseOf<typeof experimentReport>;
