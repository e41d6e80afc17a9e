/**
 * `npm run finetune`'s work, callable from tests: read the active bundle and the event log, fine-tune
 * (models/finetune/finetune.ts), print the gate's verdict and, only when it passes, write the candidate bundle with the
 * pipeline's own bundle builder — which also rebuilds every time-dependent table from the longer history.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import type { TrainingData } from "../../core/data/dataset";
import { sliceEvents } from "../../core/data/dataset";
import { appendEvents, impressionsFromLog, logEventTable, readEventLog } from "../../core/event-log/impressions";
import { DataError } from "../../core/data/errors";
import { loadDataset } from "../../core/data/load";
import { localDay } from "../../core/data/split";
import { lowerBound } from "../../core/util/sorted";
import { parseServingConfig } from "../../core/config/serving";
import { parseServingManifest } from "../../core/serving/bundle-manifest";
import { withHomeFreshness } from "../../core/suggested/home-like";
import { ASSET_FILES, decodeCatalogue, decodeUsers } from "../../core/serving/assets";
import { DEFAULT_FINETUNE, fineTune, type FinetuneOptions, type FinetuneResult } from "../../models/finetune/finetune";
import { formatVerdict, type GateVerdict } from "../../models/finetune/gate";
import { readBundleDirectory } from "../lib/kv-bundle-directory";
import { DirectoryDataSource } from "../lib/directory-source";
import { UsageError } from "../lib/cli";
import { MTML_VARIANTS, buildBundle, type MtmlVariant } from "../pipeline/build-bundle";
import { readLogDirectory } from "./log-directory";
import { LapTimer } from "../../core/util/lap-timer";

const HOUR_MS = 3_600_000;

/** What a fine-tuned bundle's manifest records, so that the next fine-tune knows where to start. */
const finetuneSectionSchema = z.looseObject({
  /** The base data's events before this instant are in the history; the log supplies those after it. */
  data_end_ms: z.number(),
  /** The models have trained on every event before this instant. */
  trained_through_ms: z.number(),
});

const baseManifestSchema = z.looseObject({
  data: z.looseObject({ train_end_ms: z.number() }),
  seed: z.number().int().optional(),
  models: z.looseObject({
    mtml: z.looseObject({ quantization: z.string(), calibration: z.unknown().optional() }),
    warm_start: z.object({ mtml: z.string(), retrieval: z.string(), first_stage: z.string() }).optional(),
  }),
  finetune: finetuneSectionSchema.optional(),
  tuning: z.unknown().optional(),
});

export interface RunFinetuneOptions {
  /** The active bundle's directory. */
  readonly from: string;
  /** The event log's directory (mirrors the R2 keys). */
  readonly events: string;
  /** Where the candidate bundle is written when it passes the gate. */
  readonly out: string;
  /** The data set the base bundle was built from (catalogue, users, and the events before the log). */
  readonly data: string;
  /** Only log hours that ended by this time are read (default: now), so an hour still being written is left for later. */
  readonly nowMs?: number;
  readonly finetune?: Partial<Omit<FinetuneOptions, "log">>;
  readonly log: (line: string) => void;
}

export interface RunFinetuneOutcome {
  readonly verdict: GateVerdict;
  /** The candidate's directory, when written. */
  readonly written: string | undefined;
  readonly version: string | undefined;
  readonly result: FinetuneResult;
  readonly seconds: Record<string, number>;
}

export async function runFinetune(options: RunFinetuneOptions): Promise<RunFinetuneOutcome> {
  const { log } = options;
  const timer = new LapTimer();
  const { seconds } = timer;
  const split = (name: string) => timer.split(name);

  // --- the active bundle ---
  const bundle = await readBundleDirectory(options.from);
  const manifestValue: unknown = bundle.manifest;
  const serving = parseServingManifest(manifestValue);
  const parsedBase = baseManifestSchema.safeParse(manifestValue);
  if (!parsedBase.success) throw new UsageError(`--from ${options.from}: manifest.json: ${parsedBase.error.issues[0]?.path.join(".")}: ${parsedBase.error.issues[0]?.message}`);
  const base = parsedBase.data;
  if (!base.models.warm_start) throw new UsageError(`--from ${options.from}: the bundle has no trainer weights (models.warm_start), so there is nothing to warm-start from; rebuild it with this checkout's npm run pipeline`);
  const file = (path: string) => {
    const bytes = bundle.files.get(path);
    if (!bytes) throw new UsageError(`--from ${options.from}: ${path} is missing`);
    return bytes;
  };
  const weights = { mtml: file(base.models.warm_start.mtml), retrieval: file(base.models.warm_start.retrieval), firstStage: file(base.models.warm_start.first_stage) };
  const catalogue = decodeCatalogue(file(ASSET_FILES.catalogue));
  const users = decodeUsers(file(ASSET_FILES.users));
  const baseConfig = parseServingConfig(JSON.parse(new TextDecoder().decode(file(serving.serving_config))) as unknown, `${options.from}/${serving.serving_config}`);
  const dataEndMs = base.finetune?.data_end_ms ?? base.data.train_end_ms;
  const trainFromMs = base.finetune?.trained_through_ms ?? base.data.train_end_ms;
  split("read_bundle");

  // --- the data set: catalogue, users, and the events before the log ---
  const dataset = await loadDataset(new DirectoryDataSource(options.data));
  assertSameIds("item", dataset.items.ids.ids(), catalogue.items.ids.ids(), options);
  assertSameIds("user", dataset.users.ids.ids(), users.users.ids.ids(), options);
  split("load_data");

  // --- the log: complete hours after the base data ---
  const nowMs = options.nowMs ?? Date.now();
  const objects = await readLogDirectory(options.events);
  const read = readEventLog(objects, { fromMs: dataEndMs, toMs: Math.floor(nowMs / HOUR_MS) * HOUR_MS });
  const joined = impressionsFromLog(read.events);
  const table = logEventTable(joined.impressions, { items: dataset.items.ids, users: dataset.users.ids });
  const lastHour = read.hours[read.hours.length - 1];
  if (lastHour === undefined || table.events.size === 0) throw new DataError(options.events, undefined, undefined, `no events after ${new Date(dataEndMs).toISOString()} in complete hours of the log (${read.objects} objects read)`);
  const endMs = Math.max(lastHour + HOUR_MS, trainFromMs);
  log(`log: ${read.events.length} events in ${read.objects} objects (${read.hours.length} hours, ${new Date(read.hours[0] as number).toISOString()} .. ${new Date(endMs).toISOString()}) → ${table.events.size} impressions; ${joined.duplicates} duplicate event ids, ${joined.implied} impressions implied by labels alone, ${table.unknownItems} impressions of unknown items and ${table.unknownUsers} of unknown users left out`);
  const history: TrainingData = {
    ...dataset,
    events: appendEvents(sliceEvents(dataset.events, 0, lowerBound(dataset.events.ts, dataEndMs)), table.events),
    endMs,
  };
  // the tuned weights stay the base's; what the pipeline learns from the window's events is learnt again, by its code
  const config = withHomeFreshness(baseConfig, history.events, dataset.items.createdAt);
  split("read_log");

  // --- fine-tune and judge ---
  const fitted = { spec: serving.feature_spec, userEmbeddingRow: users.userEmbeddingRow, itemEmbeddingRow: catalogue.itemEmbeddingRow, authorEmbeddingRow: catalogue.authorEmbeddingRow };
  const result = fineTune({ history, fitted, weights, trainFromMs, config }, { ...DEFAULT_FINETUNE, ...options.finetune, log });
  Object.assign(seconds, Object.fromEntries(Object.entries(result.seconds).map(([name, s]) => [`finetune_${name}`, s])));
  timer.restart();
  log(`gate on the ${result.counts.heldOutEvents} newest impressions and ${result.counts.heldOutClicks} clicks:\n${formatVerdict(result.verdict)}`);
  if (!result.verdict.passed) return { verdict: result.verdict, written: undefined, version: undefined, result, seconds };

  // --- the candidate bundle, by the pipeline's builder: models exported and checked, every table rebuilt ---
  const quantization = (MTML_VARIANTS as readonly string[]).includes(base.models.mtml.quantization) ? (base.models.mtml.quantization as MtmlVariant) : "dynamic-int8-fp32-dense";
  const seed = options.finetune?.seed ?? base.seed ?? DEFAULT_FINETUNE.seed;
  const built = await buildBundle({
    dataset,
    train: history,
    trained: result.trained,
    config,
    seed,
    trainEnd: localDay(endMs - 1, dataset.timezoneOffsetMinutes),
    quantization,
    embeddingFormat: serving.models.retrieval.item_embeddings_format,
    checks: "quick",
    manifestExtras: {
      ...(base.tuning === undefined ? {} : { tuning: base.tuning }),
      finetune: {
        base_version: serving.version,
        data_end_ms: dataEndMs,
        trained_from_ms: trainFromMs,
        trained_through_ms: result.trainedThroughMs,
        log_hours: read.hours.length,
        counts: result.counts,
        gate: result.verdict.rows,
      },
    },
    log,
  });
  split("export");
  await rm(options.out, { recursive: true, force: true });
  for (const [path, bytes] of built.files) {
    await mkdir(dirname(join(options.out, path)), { recursive: true });
    await writeFile(join(options.out, path), bytes);
  }
  await writeFile(join(options.out, "manifest.json"), `${JSON.stringify({ ...built.manifest, finetune_seconds: seconds }, null, 2)}\n`);
  split("write");
  return { verdict: result.verdict, written: options.out, version: built.version, result, seconds };
}

/** The bundle's tables were built from this data set: the same ids in the same rows, or the vocabularies mean nothing. */
function assertSameIds(kind: string, data: readonly string[], bundle: readonly string[], options: RunFinetuneOptions): void {
  const differs = data.length !== bundle.length || data.some((id, row) => bundle[row] !== id);
  if (differs) throw new UsageError(`--data ${options.data} does not hold the ${kind}s of --from ${options.from} in the same order (${data.length} vs ${bundle.length}): fine-tune with the data set the bundle was built from`);
}
