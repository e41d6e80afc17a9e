// Worker-thread entry of scripts/pipeline/stage-models.ts: loads the window and trains the stage models.
import { loadDataset } from "../../core/data/load";
import { trainingWindow } from "../../core/data/split";
import type { TrainingData } from "../../core/data/dataset";
import { buildWindowRows, trainStageModels } from "../../models/pipeline/train-all";
import { encodeTrainerModel } from "../../models/finetune/weights";
import { DirectoryDataSource } from "../lib/directory-source";
import { serveTsWorker } from "../lib/ts-worker";
import type { EncodedStageModels, StageModelsInput } from "./stage-models";

await serveTsWorker<StageModelsInput, EncodedStageModels>(async (input, log) => {
  const dataset = await loadDataset(new DirectoryDataSource(input.data));
  const window = trainingWindow(dataset, input.trainEnd);
  const train: TrainingData = { ...dataset, events: window.train, endMs: window.trainEndMs };
  const stage = trainStageModels(train, buildWindowRows(train), { seed: input.seed, mtmlEpochs: input.mtmlEpochs, retrievalEpochs: input.retrievalEpochs, log });
  const mtml = encodeTrainerModel("mtml", stage.mtml);
  const retrieval = encodeTrainerModel("retrieval", stage.retrieval);
  return { mtml, retrieval, metrics: stage.metrics };
});
