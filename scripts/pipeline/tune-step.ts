/**
 * The pipeline's tuning step: hold out the last slice of the training window, train the models on what comes
 * before it, build a quick bundle from them in memory, replay the slice through the funnel and tune the serving
 * config on it. Only the training window's events are read.
 */
import type { Dataset, TrainingData } from "../../core/data/dataset";
import { InsufficientDataError } from "../../core/data/errors";
import { localDay } from "../../core/data/split";
import { ItemRateScorer } from "../../core/eval/baselines/item-rate";
import { DecayedPopularity } from "../../core/eval/baselines/popularity";
import type { ServingConfig } from "../../core/config/serving";
import { openServingBundle } from "../../core/serving/serving-bundle";
import { LABELS } from "../../core/data/labels";
import { releaseBundleModels, type BundleModels } from "../../core/serving/bundle-models";
import { trainAll } from "../../models/pipeline/train-all";
import { DEFAULT_HOLDOUT, chooseHoldout, type Holdout } from "../../models/tuning/holdout";
import { buildReplay, type Replay } from "../../models/tuning/replay";
import { buildSuggestedReplay, type SuggestedReplay } from "../../models/tuning/suggested-replay";
import { withHomeFreshness } from "../../core/suggested/home-like";
import { checkSearchSpace, tuneServingConfig, type PriorMethod, type TuningMethod, type TuningPhase, type TuningReport, type TuningSearchSpace } from "../../models/tuning/tune";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { createOnnxruntimeNodeAdapter } from "../onnx/ort-node";
import { buildBundle, type MtmlVariant } from "./build-bundle";
import type { EmbeddingFormat } from "../../core/serving/embedding-codec";

export interface TuneStepOptions {
  readonly seed: number;
  readonly method: TuningMethod;
  readonly prior: PriorMethod;
  /** Share of the window's events held out for tuning. */
  readonly holdoutShare: number;
  /** Held-out users (with a click) replayed through Explore. */
  readonly users: number;
  /** Held-out users (with a click on an unfollowed author) replayed through Suggested Posts. */
  readonly suggestedUsers: number;
  /** Trials per phase (retrieval, value, ranking). */
  readonly trials: Readonly<Record<TuningPhase, number>>;
  readonly quantization: MtmlVariant;
  /** How the quick bundle stores its embeddings: as the final bundle will, so tuning sees what serving sees. */
  readonly embeddingFormat?: EmbeddingFormat;
  /** Whether the quick bundle fits MTML calibrators, as the final bundle will. */
  readonly calibration?: "fit" | "none";
  readonly log: (line: string) => void;
}

export const DEFAULT_TUNE_STEP: Omit<TuneStepOptions, "seed" | "log" | "quantization"> = { method: "bayesian", prior: "searched", holdoutShare: DEFAULT_HOLDOUT.share, users: 4000, suggestedUsers: 2000, trials: { retrieval: 25, value: 40, ranking: 40, suggested: 25 } };

/** Fewer held-out users with a click than this, and the tuned config would follow noise: the step is skipped. */
export const MIN_TUNING_USERS = 50;

export type TuneStepResult =
  | { readonly tuned: true; readonly config: ServingConfig; readonly report: TuningReport & { readonly holdout: HoldoutReport; readonly seconds_total: number } }
  | { readonly tuned: false; readonly config: ServingConfig; readonly reason: string };

export interface HoldoutReport {
  readonly describe: string;
  readonly cut_ms: number;
  readonly share: number;
  readonly on_day_boundary: boolean;
  readonly fit_events: number;
  readonly held_out_events: number;
}

/** A held-out slice replayed on models trained before it, ready for any number of searches. */
export interface HeldOutReplay {
  readonly replay: Replay;
  readonly suggested: SuggestedReplay;
  readonly holdout: HoldoutReport;
  /** Frees the quick bundle's model sessions. */
  release(): Promise<void>;
}

/**
 * Holds out the window's last slice, trains on what comes before it, builds a quick bundle in memory and replays the
 * slice on it; or says why the data set is too small for that.
 */
export async function replayHeldOutSlice(dataset: Dataset, train: TrainingData, base: ServingConfig, space: TuningSearchSpace, options: Omit<TuneStepOptions, "method" | "prior" | "trials">): Promise<HeldOutReplay | { readonly skipped: string }> {
  const { log } = options;
  checkSearchSpace(base, space);
  let holdout: Holdout;
  try {
    holdout = chooseHoldout(train.events, { ...DEFAULT_HOLDOUT, share: options.holdoutShare, timezoneOffsetMinutes: dataset.timezoneOffsetMinutes });
  } catch (error) {
    if (error instanceof InsufficientDataError) return { skipped: error.message };
    throw error;
  }
  const clickers = new Set<number>();
  const clicks = holdout.heldOut.labels.click;
  for (let i = 0; i < holdout.heldOut.size; i++) if (clicks?.[i]) clickers.add(holdout.heldOut.user[i] as number);
  if (clickers.size < MIN_TUNING_USERS) {
    return { skipped: `tuning: needs at least ${MIN_TUNING_USERS} users with a click in the held-out slice, but the data has ${clickers.size} (${holdout.describe})` };
  }
  log(`tuning: ${holdout.describe}; training the models on the ${holdout.fit.size} events before it`);

  const fit: TrainingData = { ...dataset, events: holdout.fit, endMs: holdout.cutMs };
  const prefixLog = (line: string) => log(`  fit: ${line}`);
  // the replay reads the first stage only through its cut (the prior does most of the work): half the distillation users
  const trained = trainAll(fit, { seed: options.seed, config: base, log: prefixLog, skipValidation: true, distillationUsers: 500 });
  const bundleFiles = await buildBundle({ dataset, train: fit, trained, config: base, seed: options.seed, trainEnd: `fit-${localDay(holdout.cutMs - 1, dataset.timezoneOffsetMinutes)}`, quantization: options.quantization, ...(options.embeddingFormat ? { embeddingFormat: options.embeddingFormat } : {}), ...(options.calibration ? { calibration: options.calibration } : {}), checks: "quick", log: prefixLog });
  // onnxruntime-node rather than the Worker's onnxruntime-web: the same models, 2–3× faster on the replay's ~10⁶ rows
  const bundle = await openServingBundle(bundleFiles.manifest, bundleFiles.files, createOnnxruntimeNodeAdapter(), createNodeUsearchRuntime());
  const release = async () => {
    if (bundle.models.mtml) await releaseBundleModels(bundle.models as BundleModels);
  };
  try {
    if (bundle.problems.length > 0) throw new Error(`the tuning bundle is degraded: ${bundle.problems.join("; ")}`);
    const replayStarted = performance.now();
    const itemRateScorer = new ItemRateScorer(fit);
    const itemRates = (items: Int32Array) => {
      const scored = itemRateScorer.score({ size: items.length, user: new Int32Array(items.length), item: items, surface: new Int32Array(items.length), atMs: new Float64Array(items.length) });
      const out = new Float32Array(items.length * LABELS.length);
      LABELS.forEach((label, l) => {
        const column = scored[label];
        if (column) for (let i = 0; i < items.length; i++) out[i * LABELS.length + l] = column[i] as number;
      });
      return out;
    };
    // the quick bundle is built from the data set's own tables, so its rows are the data set's rows
    const identity = { toBundleUser: (user: number) => user, toBundleItem: (item: number) => item };
    const maxQuotas = Object.fromEntries(space.retrieval.filter((d) => d.path.endsWith(".quota")).map((d) => [d.path.split(".")[2] as string, d.high]));
    const popularity = new DecayedPopularity(fit).order;
    const replay = await buildReplay(bundle, base, holdout.heldOut, identity, itemRates, popularity, { users: options.users, seed: options.seed, maxQuotas, count: 100, log: prefixLog });
    log(`tuning: replayed ${replay.users.length} users and ${replay.impressions.size} impressions through Explore in ${((performance.now() - replayStarted) / 1000).toFixed(1)} s`);
    const suggestedStarted = performance.now();
    // Home's freshness as the replayed bundle would know it: learned from the events before the slice
    const suggested = await buildSuggestedReplay(bundle, withHomeFreshness(base, holdout.fit, dataset.items.createdAt), holdout.heldOut, identity, popularity, { users: options.suggestedUsers, seed: options.seed });
    log(`tuning: replayed ${suggested.users.length} users through Suggested Posts in ${((performance.now() - suggestedStarted) / 1000).toFixed(1)} s`);
    const holdoutReport: HoldoutReport = { describe: holdout.describe, cut_ms: holdout.cutMs, share: holdout.share, on_day_boundary: holdout.onDayBoundary, fit_events: holdout.fit.size, held_out_events: holdout.heldOut.size };
    return { replay, suggested, holdout: holdoutReport, release };
  } catch (error) {
    await release();
    throw error;
  }
}

/** The whole step: the replay, then one search; the tuned config and its report, or the defaults and why. */
export async function tuneOnHeldOutSlice(dataset: Dataset, train: TrainingData, base: ServingConfig, space: TuningSearchSpace, options: TuneStepOptions): Promise<TuneStepResult> {
  const started = performance.now();
  const prepared = await replayHeldOutSlice(dataset, train, base, space, options);
  if ("skipped" in prepared) return { tuned: false, config: base, reason: prepared.skipped };
  try {
    const result = await tuneServingConfig({ explore: prepared.replay, suggested: prepared.suggested }, base, space, { method: options.method, prior: options.prior, seed: options.seed, trials: options.trials, log: (line) => options.log(`tuning: ${line}`) });
    return { tuned: true, config: result.config, report: { ...result.report, holdout: prepared.holdout, seconds_total: (performance.now() - started) / 1000 } };
  } finally {
    await prepared.release();
  }
}
