import { z } from "zod";
import { errorResponses } from "./errors";
import type { ResponseOf, RouteContract } from "./route";

const isoTime = z.iso.datetime();

const servingBundle = z.strictObject({
  version: z.string(),
  created_at: z.string(),
  loaded_at: isoTime,
  load_ms: z.number(),
  open_ms: z.record(z.string(), z.number()).meta({ description: "What followed the KV read, step by step (ms; 0 where the clock advances only at I/O)." }),
  files: z.number().int(),
  bytes: z.number().int(),
  checked_at: isoTime.nullable(),
  loading: z.string().nullable().meta({ description: "A newer version being loaded, if any." }),
  last_failure: z.strictObject({ version: z.string().nullable(), reasons: z.array(z.string()), at: isoTime }).nullable().meta({ description: "A newer version that failed to load while this one kept serving." }),
});

const isolateMemory = z.strictObject({
  wasm_memory_bytes: z
    .strictObject({
      onnxruntime: z.number().int().nullable().meta({ description: "onnxruntime-web's linear memory (the models' sessions); null before its first session." }),
      ann: z.number().int().nullable().meta({ description: "The ANN runtime's linear memory (USearch: the item indexes); null before its first index." }),
    })
    .meta({ description: "This isolate's WebAssembly memories: outside the JS heap, inside the isolate's memory limit. A wasm memory never shrinks." }),
});

export const healthResponse = z.strictObject({
  status: z.enum(["ok", "degraded"]).meta({ description: "`degraded` (still 200) when no model bundle is usable: feeds then come from the popular fallback." }),
  version: z.string().meta({ description: "The Worker's own version." }),
  bundle: servingBundle.nullable(),
  degraded: z.array(z.string()).meta({ description: "Why no bundle is serving; empty when `status` is ok." }),
  isolate: isolateMemory.meta({ description: "The answering isolate's memory outside its JS heap (the reliability run's leak check reads it)." }),
});

export const healthRoute = {
  operationId: "health",
  method: "get",
  path: "/health",
  tag: "operations",
  summary: "Whether a model bundle is serving, and which",
  responses: { 200: { description: "The Worker answers (a degraded one too).", name: "Health", schema: healthResponse }, ...errorResponses(500) },
} satisfies RouteContract;

export type HealthResponse = ResponseOf<typeof healthResponse>;
