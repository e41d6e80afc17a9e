/**
 * Development measurement (issue 18): does a calibrator fitted on the MTML's *out-of-sample* predictions of the
 * training window's held-out tail bring the served model's probabilities closer to the test days' outcomes?
 *
 * `npm run pipeline -- --calibration fit` fits its calibrators on the final MTML's predictions of the check rows, which
 * that model was trained on: in-sample, so the map learns the fit's own optimism rather than how a model does on the
 * day after its data. Here the probe (the pipeline's validation model, trained on every impression before the held-out
 * tail, same seed and recipe) predicts the tail, Platt and isotonic maps are chosen per task on those predictions by
 * cross-fitted log loss (models/calibration/fit.ts, as the pipeline chooses), and the maps are applied to the served
 * MTML's scores of the test impressions.
 *   npx tsx scripts/dev/calibration-out-of-sample.ts --bundle <dir> --train-end D --test-start D' [--test-end D''] [--data <dir>]
 */
import { LABELS } from "../../core/data/labels";
import type { TrainingData } from "../../core/data/dataset";
import { trainingWindow } from "../../core/data/split";
import { reliability } from "../../core/eval/calibration";
import { fitFeatures } from "../../core/features/fit-spec";
import { calibrate, type Calibrator } from "../../core/ranking/calibration";
import { auc } from "../../core/eval/metrics";
import { Rng } from "../../models/autodiff";
import { chooseCalibrator, fitPlatt } from "../../models/calibration/fit";
import { DEFAULT_MTML_ARCHITECTURE, MtmlModel } from "../../models/mtml/model";
import { buildMtmlRows, takeMtmlRows } from "../../models/mtml/rows";
import { DEFAULT_MTML_TRAINING, predictMtml, trainMtml } from "../../models/mtml/train";
import { mtmlValidationHoldout } from "../../models/pipeline/train-all";
import { scoredTestWindowFromArgs } from "./scored-test-window";

const { dataset, split, kept, probabilities, bundle } = await scoredTestWindowFromArgs();
const trainEnd = bundle.tables.manifest.data.train_end;
const window = trainingWindow(dataset, split.trainEnd);
const train: TrainingData = { ...dataset, events: window.train, endMs: window.trainEndMs };
// the version is <train_end>-s<seed>-<hash>: the probe gets the bundle's seed
const seed = Number(/-s(\d+)-/.exec(bundle.tables.manifest.version)?.[1] ?? 1);
console.log(`window through ${trainEnd} (seed ${seed}): fitting features and training the probe`);
const fitted = fitFeatures(train);
const rows = buildMtmlRows(train, fitted);
// the same validation slice as the pipeline's MTML
const holdout = mtmlValidationHoldout(train);
const every = Int32Array.from({ length: rows.inputs.size }, (_, i) => i);
const earlier = every.subarray(0, holdout.fit.size);
const tail = every.subarray(holdout.fit.size);
const probe = new MtmlModel(rows.spec, DEFAULT_MTML_ARCHITECTURE, new Rng(seed));
trainMtml(probe, rows, earlier, { ...DEFAULT_MTML_TRAINING, seed });
const tailP = predictMtml(probe, takeMtmlRows(rows.spec, rows.inputs, tail));
console.log(`probe trained on ${earlier.length} impressions; predicts the ${tail.length} of the held-out tail (${holdout.describe})`);

const test = split.test;
for (const label of LABELS) {
  const l = LABELS.indexOf(label);
  const p = Float64Array.from(tail, (_, k) => tailP[k * LABELS.length + l] as number);
  const y = Float64Array.from(tail, (row) => rows.labels[row * LABELS.length + l] as number);
  const positives = y.reduce((s, v) => s + v, 0);
  const served = Float64Array.from(kept, (_, k) => probabilities[k * LABELS.length + l] as number);
  const outcomes = Float64Array.from(kept, (row) => (test.labels[label]?.[row] ? 1 : 0));
  const ece = (scores: ArrayLike<number>) => reliability(scores, outcomes)?.ece ?? Number.NaN;
  const applied = (calibrator: Calibrator) => Float64Array.from(served, (value) => calibrate(calibrator, value));
  const choice = chooseCalibrator(p, y);
  const platt = fitPlatt(p, y);
  const tailMean = p.reduce((s, v) => s + v, 0) / p.length;
  console.log(
    `${label.padEnd(12)} tail: rate ${(positives / p.length).toFixed(4)}, probe predicts ${tailMean.toFixed(4)}; ` +
      `test ECE as served ${ece(served).toFixed(4)}, chosen (${choice.calibrator.method}) ${ece(applied(choice.calibrator)).toFixed(4)}, ` +
      `Platt ${ece(applied(platt)).toFixed(4)}; AUC ${auc(served, outcomes)?.toFixed(4) ?? "—"} → ${auc(applied(choice.calibrator), outcomes)?.toFixed(4) ?? "—"}`,
  );
}
