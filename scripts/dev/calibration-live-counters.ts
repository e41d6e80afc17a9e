/**
 * Development measurement (issue 18): does the MTML's calibration drift on the test days come from the state the
 * evaluation scores them with? `npm run eval` scores every test impression with the bundle's state at the end of
 * training and "now" = that instant; the Worker on a later day advances the counters to the day's start and adds the
 * days' events since the bundle (README, "Counters that move with time"), as training gives each row the days before.
 * Scores the test impressions three ways with the bundle's trainer weights and prints ECE (with its floor) and AUC:
 *   frozen: the end-of-training state, now = the end of training (the evaluation's `mtml`);
 *   frozen, own time: the same state, decayed to the impression's day, now = its own time (a Worker with no events);
 *   day before: every earlier day's events counted, now = its own time (a Worker with live counters: training's rows).
 * Then each way with corrections: a Platt map fitted out of sample on the pipeline's validation probe; an intercept
 * that follows the logit gap between outcomes and predictions of the closed impressions (decayed, half-life 3–48 h);
 * and a Platt map refitted every hour on the last 12–48 hours' closed impressions (what core/ranking/
 * feedback-calibration.ts does with binned counts, here on the rows).
 *   npx tsx scripts/dev/calibration-live-counters.ts --bundle <dir> --train-end D --test-start D' --test-end D''
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LABELS } from "../../core/data/labels";
import { loadDataset } from "../../core/data/load";
import { splitByDate } from "../../core/data/split";
import { sliceEvents, type TrainingData } from "../../core/data/dataset";
import { reliability } from "../../core/eval/calibration";
import { auc } from "../../core/eval/metrics";
import { fitFeatures } from "../../core/features/fit-spec";
import { allocateMtmlInputs, writeMtmlRow } from "../../core/features/mtml-features";
import { Rng } from "../../models/autodiff";
import { loadModelWeights } from "../../models/finetune/weights";
import { DEFAULT_MTML_ARCHITECTURE, MtmlModel } from "../../models/mtml/model";
import { buildMtmlRows, featureContext, newReplay, takeMtmlRows, userContextFor } from "../../models/mtml/rows";
import { DEFAULT_MTML_TRAINING, predictMtml, trainMtml } from "../../models/mtml/train";
import { mtmlValidationHoldout } from "../../models/pipeline/train-all";
import { chooseCalibrator, fitPlatt } from "../../models/calibration/fit";
import { calibrate, type Calibrator } from "../../core/ranking/calibration";
import { lowerBound } from "../../core/util/sorted";
import { DirectoryDataSource } from "../lib/directory-source";

const { values } = parseArgs({ options: { data: { type: "string", default: "data/kuairand-pure" }, bundle: { type: "string" }, "train-end": { type: "string" }, "test-start": { type: "string" }, "test-end": { type: "string" }, seed: { type: "string", default: "1" } } });
const dataset = await loadDataset(new DirectoryDataSource(values.data));
const split = splitByDate(dataset, { trainEnd: values["train-end"] as string, testStart: values["test-start"] as string, testEnd: values["test-end"] });
const train: TrainingData = { ...dataset, events: split.train, endMs: split.trainEndMs };
const fitted = fitFeatures(train);
const rows = buildMtmlRows(train, fitted);
const mtml = new MtmlModel(rows.spec, DEFAULT_MTML_ARCHITECTURE, new Rng(Number(values.seed)));
loadModelWeights(mtml, new Uint8Array(await readFile(join(values.bundle as string, "models/weights/mtml.epak"))), "the bundle's mtml weights");

const test = split.test;
const frozen = allocateMtmlInputs(rows.spec, test.size);
const frozenOwnTime = allocateMtmlInputs(rows.spec, test.size);
const dayBefore = allocateMtmlInputs(rows.spec, test.size);
const finalContext = featureContext(train, fitted, rows.spec, rows.finalState);
for (let r = 0; r < test.size; r++) {
  const user = test.user[r] as number;
  writeMtmlRow(finalContext, userContextFor(train, fitted, user, rows.finalState.activity(user)), test.item[r] as number, test.surface[r] as number, split.trainEndMs, frozen, r);
}
// the frozen state decayed to each test day's start: a replay of the training window, advanced without adding events
const decayed = newReplay(train, rows.spec);
decayed.run(split.train);
const everything = sliceEvents(dataset.events, 0, dataset.events.size);
const testFrom = everything.ts.findIndex((ts) => ts >= split.testStartMs);
const live = newReplay({ ...train, events: everything }, rows.spec);
const upToTest = sliceEvents(everything, 0, lowerBound(everything.ts, split.testEndMs));
live.run(upToTest, (dayStart, from, to) => {
  if (to <= testFrom) return;
  decayed.advanceTo(Math.max(decayed.itemCounters.asOfMs, dayStart));
  const liveContext = featureContext(train, fitted, rows.spec, live);
  const decayedContext = featureContext(train, fitted, rows.spec, decayed);
  for (let e = Math.max(from, testFrom); e < to; e++) {
    const r = e - testFrom;
    const user = test.user[r] as number;
    if ((test.ts[r] as number) !== (everything.ts[e] as number) || user !== (everything.user[e] as number)) throw new Error("test rows out of step with the replay");
    writeMtmlRow(liveContext, userContextFor(train, fitted, user, live.activity(user)), test.item[r] as number, test.surface[r] as number, test.ts[r] as number, dayBefore, r);
    writeMtmlRow(decayedContext, userContextFor(train, fitted, user, decayed.activity(user)), test.item[r] as number, test.surface[r] as number, test.ts[r] as number, frozenOwnTime, r);
  }
});

// out of sample, as served: the pipeline's validation probe (trained before the window's held-out tail, the same seed
// and recipe) predicts the tail with training's day-before rows; a map per task is chosen on those predictions
const holdout = mtmlValidationHoldout(train);
const every = Int32Array.from({ length: rows.inputs.size }, (_, i) => i);
const probe = new MtmlModel(rows.spec, DEFAULT_MTML_ARCHITECTURE, new Rng(Number(values.seed)));
trainMtml(probe, rows, every.subarray(0, holdout.fit.size), { ...DEFAULT_MTML_TRAINING, seed: Number(values.seed) });
const tail = every.subarray(holdout.fit.size);
const tailP = predictMtml(probe, takeMtmlRows(rows.spec, rows.inputs, tail));
const calibrators = LABELS.map((_, l) => chooseCalibrator(Float64Array.from(tail, (_, k) => tailP[k * LABELS.length + l] as number), Float64Array.from(tail, (row) => rows.labels[row * LABELS.length + l] as number)).calibrator);
console.log(`probe-fitted maps: ${LABELS.slice(0, 3).map((label, l) => `${label} ${JSON.stringify(calibrators[l]).slice(0, 60)}`).join("; ")}`);

const ways = { frozen, "frozen, own time": frozenOwnTime, "day before": dayBefore };
console.log(`${test.size} test impressions, ${split.testStart}..${split.testEnd}; trainer weights of ${values.bundle}`);
for (const [name, inputs] of [...Object.entries(ways), ...Object.entries(ways).map(([name, inputs]) => [`${name} + probe map`, inputs] as const)]) {
  const raw = predictMtml(mtml, inputs);
  const probabilities = name.endsWith("probe map") ? raw.map((p, i) => calibrate(calibrators[i % LABELS.length] as Calibrator, p)) : raw;
  const cells = LABELS.slice(0, 3).map((label, l) => {
    const column = test.labels[label];
    const labels = Array.from({ length: test.size }, (_, r) => column?.[r] ?? 0);
    const scores = Array.from({ length: test.size }, (_, r) => probabilities[r * LABELS.length + l] as number);
    const shown = reliability(scores, labels);
    const meanP = scores.reduce((a, b) => a + b, 0) / test.size;
    const rate = labels.reduce((a, b) => a + b, 0) / test.size;
    return `${label} ECE ${shown?.ece.toFixed(4)} (floor ${shown?.eceFloor.toFixed(4)}), AUC ${auc(scores, labels)?.toFixed(4)}, mean p ${meanP.toFixed(4)} vs ${rate.toFixed(4)}`;
  });
  console.log(`${name.padEnd(28)} ${cells.join(" | ")}`);
}

// A feedback correction the Worker could run: per label, the logit gap between what happened and what the model
// predicted over the impressions whose hour has closed (labels join an impression within the hour), decayed with
// half-life H and shrunk to no shift by K impressions, added to each new prediction's logit. Reads only the past.
const FEEDBACK_DELAY_MS = 3_600_000;
const SHRINK_IMPRESSIONS = 500;
const logit = (p: number) => Math.log(Math.max(p, 1e-7) / Math.max(1 - p, 1e-7));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
for (const [name, inputs] of Object.entries(ways)) {
  const raw = predictMtml(mtml, inputs);
  for (const halfLifeHours of [3, 12, 48]) {
    const decayPerMs = Math.LN2 / (halfLifeHours * 3_600_000);
    const cells = LABELS.slice(0, 3).map((label, l) => {
      const column = test.labels[label];
      const labels = Array.from({ length: test.size }, (_, r) => column?.[r] ?? 0);
      const corrected = new Float64Array(test.size);
      let weight = 0;
      let observed = 0;
      let predicted = 0;
      let asOf = test.ts[0] as number;
      let next = 0;
      for (let r = 0; r < test.size; r++) {
        const now = test.ts[r] as number;
        while (next < test.size && (test.ts[next] as number) <= now - FEEDBACK_DELAY_MS) {
          const at = test.ts[next] as number;
          const decay = Math.exp(-decayPerMs * (at - asOf));
          weight = weight * decay + 1;
          observed = observed * decay + (labels[next] as number);
          predicted = predicted * decay + (raw[next * LABELS.length + l] as number);
          asOf = at;
          next++;
        }
        const meanPredicted = weight > 0 ? predicted / weight : 0.5;
        const shift = weight > 0 ? logit((observed + SHRINK_IMPRESSIONS * meanPredicted) / (weight + SHRINK_IMPRESSIONS)) - logit(meanPredicted) : 0;
        corrected[r] = sigmoid(logit(raw[r * LABELS.length + l] as number) + shift);
      }
      const shown = reliability(corrected, labels);
      return `${label} ECE ${shown?.ece.toFixed(4)} (floor ${shown?.eceFloor.toFixed(4)}), AUC ${auc(Array.from(corrected), labels)?.toFixed(4)}`;
    });
    console.log(`${`${name} + feedback ${halfLifeHours} h`.padEnd(28)} ${cells.join(" | ")}`);
  }
}

// The same feedback, refitting a Platt map (slope and intercept) every hour on the closed impressions of the last W
// hours, once there are at least MIN_PLATT_ROWS of them (before that, none).
const MIN_PLATT_ROWS = 2000;
const HOUR_MS = 3_600_000;
for (const [name, inputs] of Object.entries(ways)) {
  const raw = predictMtml(mtml, inputs);
  for (const windowHours of [12, 24, 48]) {
    const cells = LABELS.slice(0, 3).map((label, l) => {
      const column = test.labels[label];
      const labels = Array.from({ length: test.size }, (_, r) => column?.[r] ?? 0);
      const corrected = new Float64Array(test.size);
      let map: Calibrator = { method: "none" };
      let hour = Number.NEGATIVE_INFINITY;
      for (let r = 0; r < test.size; r++) {
        const now = test.ts[r] as number;
        if (now >= hour + HOUR_MS) {
          hour = Math.floor(now / HOUR_MS) * HOUR_MS;
          const from = lowerBound(test.ts, hour - windowHours * HOUR_MS);
          const to = lowerBound(test.ts, hour - FEEDBACK_DELAY_MS + 1);
          if (to - from >= MIN_PLATT_ROWS) {
            const p = Float64Array.from({ length: to - from }, (_, k) => raw[(from + k) * LABELS.length + l] as number);
            const y = Float64Array.from({ length: to - from }, (_, k) => labels[from + k] as number);
            map = fitPlatt(p, y);
          }
        }
        corrected[r] = calibrate(map, raw[r * LABELS.length + l] as number);
      }
      const shown = reliability(corrected, labels);
      return `${label} ECE ${shown?.ece.toFixed(4)} (floor ${shown?.eceFloor.toFixed(4)}), AUC ${auc(Array.from(corrected), labels)?.toFixed(4)}`;
    });
    console.log(`${`${name} + hourly Platt ${windowHours} h`.padEnd(28)} ${cells.join(" | ")}`);
  }
}
