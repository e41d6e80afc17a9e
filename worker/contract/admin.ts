import { z } from "zod";
import { servingConfigSchema } from "../../core/config/serving";
import { errorResponses } from "./errors";
import type { ResponseOf, RouteContract } from "./route";

export const configResponse = z.strictObject({
  source: z.enum(["bundle", "kv"]).meta({ description: "Whether the config in effect is the bundle's own or the override stored in KV." }),
  model_version: z.string(),
  config: servingConfigSchema,
  problem: z.string().optional().meta({ description: "Why a stored override is not in effect." }),
});

export const storedConfigResponse = z.strictObject({ stored: z.string().meta({ description: "The KV key." }), config: servingConfigSchema });
export const deletedConfigResponse = z.strictObject({ deleted: z.string().meta({ description: "The KV key." }) });

const admin = { tag: "admin", auth: { token: "ADMIN_TOKEN" }, path: "/v1/admin/config" } as const;

export const getConfigRoute = {
  ...admin,
  operationId: "getServingConfig",
  method: "get",
  summary: "The serving config in effect",
  responses: { 200: { description: "The config and where it comes from.", name: "ServingConfigInEffect", schema: configResponse }, ...errorResponses(401, 429, 500, 503) },
} satisfies RouteContract;

export const putConfigRoute = {
  ...admin,
  operationId: "putServingConfig",
  method: "put",
  summary: "Store a serving config override",
  description: "Validated as a whole (queries included); every isolate picks it up within 30 s.",
  body: { name: "ServingConfig", schema: servingConfigSchema, maxBytes: 256 * 1024 },
  responses: { 200: { description: "The stored config, defaults filled in.", name: "StoredServingConfig", schema: storedConfigResponse }, ...errorResponses(400, 401, 413, 429, 500) },
} satisfies RouteContract;

export const deleteConfigRoute = {
  ...admin,
  operationId: "deleteServingConfig",
  method: "delete",
  summary: "Drop the stored override: the bundle's config is in effect again",
  responses: { 200: { description: "The dropped key.", name: "DeletedServingConfig", schema: deletedConfigResponse }, ...errorResponses(401, 429, 500) },
} satisfies RouteContract;

export type ConfigResponse = ResponseOf<typeof configResponse>;
export type StoredConfigResponse = ResponseOf<typeof storedConfigResponse>;
export type DeletedConfigResponse = ResponseOf<typeof deletedConfigResponse>;
