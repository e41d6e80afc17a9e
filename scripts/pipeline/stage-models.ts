/**
 * The pipeline's stage models (the MTML and the retrieval two-tower) do not depend on the serving config, so they are
 * trained in a worker thread on the second core while the main thread tunes; the first stage, which distils the
 * tuned value model, waits for both. The worker loads the same window and derives the same rows (`buildWindowRows`
 * is deterministic), so the models are those the main thread would have trained: the bundle's content hash is the
 * same either way.
 */
import { loadModelWeights } from "../../models/finetune/weights";
import { DEFAULT_MTML_ARCHITECTURE, MtmlModel } from "../../models/mtml/model";
import type { StageModels, WindowRows } from "../../models/pipeline/train-all";
import { DEFAULT_TOWER_ARCHITECTURE, TwoTowerModel } from "../../models/two-tower/model";
import { Rng } from "../../models/autodiff";
import { runTsWorker, type RunningWorker } from "../lib/ts-worker";

export interface StageModelsInput {
  readonly data: string;
  readonly trainEnd: string;
  readonly seed: number;
  readonly mtmlEpochs?: number;
  readonly retrievalEpochs?: number;
}

/** The trainer's weights of both models (models/finetune/weights.ts) and the training metrics. */
export interface EncodedStageModels {
  readonly mtml: Uint8Array;
  readonly retrieval: Uint8Array;
  readonly metrics: Record<string, unknown>;
}

export function trainStageModelsInWorker(input: StageModelsInput, log: (line: string, atMs: number) => void): RunningWorker<EncodedStageModels> {
  return runTsWorker(new URL("./stage-models-worker.ts", import.meta.url), input, log);
}

/** The worker's weights in models built on this thread's rows (whose feature spec the weights were trained with). */
export function decodeStageModels(window: WindowRows, encoded: EncodedStageModels, seed: number): StageModels {
  const mtml = new MtmlModel(window.rows.spec, DEFAULT_MTML_ARCHITECTURE, new Rng(seed));
  loadModelWeights(mtml, encoded.mtml, "the stage-models worker's mtml");
  const retrieval = new TwoTowerModel("retrieval", window.examples.spec, DEFAULT_TOWER_ARCHITECTURE, new Rng(seed + 1));
  loadModelWeights(retrieval, encoded.retrieval, "the stage-models worker's retrieval");
  return { mtml, retrieval, metrics: encoded.metrics };
}
