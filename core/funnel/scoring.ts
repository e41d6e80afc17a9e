import type { ExploreValueModel } from "../config/value-model";
import type { UserContext } from "../features/context";
import { allocateMtmlInputs, prepareMtmlRequest, writeMtmlItemRow, type MtmlInputs, type MtmlRequestFeatures } from "../features/mtml-features";
import { exploreLogPrior, impressionValue, priorNeedsAffinity } from "../ranking/value-model";
import { runMtmlForOneUser, type MtmlSessions } from "../serving/model-runs";
import type { BundleTables } from "../serving/bundle-tables";
import { rowDots } from "../util/typed-arrays";
import { calibrateMtmlRows, type MtmlCalibration } from "../ranking/calibration";

/**
 * How one user's items are scored, whoever asks (the second stage, the first stage's prior, the `rank` port of the
 * stores, the evaluation and the tuner): the MTML's probabilities, the value model's log prior, and EV · prior.
 */

/**
 * MTML probabilities [items × labels] for one user's items: the second stage's model run. `feedback`: the maps that
 * calibration from feedback has fitted for now (core/ranking/feedback-calibration.ts), applied after the bundle's.
 */
export async function mtmlProbabilities(tables: BundleTables, mtml: MtmlSessions, user: UserContext, items: readonly number[], surface: number | readonly number[], nowMs: number, feedback?: MtmlCalibration): Promise<Float32Array> {
  // calibrated per task when the bundle ships calibrators: serving, tuning and the evaluation all read them here
  const calibrated = calibrateMtmlRows(tables.manifest.models.mtml.calibration, await runMtmlForOneUser(mtml, mtmlInputsFor(tables, user, items, surface, nowMs)));
  return calibrateMtmlRows(feedback, calibrated);
}

/** The MTML's input batch for one user's items: the user's side of the features once per surface, then each item's. */
export function mtmlInputsFor(tables: BundleTables, user: UserContext, items: readonly number[], surface: number | readonly number[], nowMs: number): MtmlInputs {
  const inputs = allocateMtmlInputs(tables.spec, items.length);
  const context = tables.featureContext();
  const prepared = new Map<number, MtmlRequestFeatures>();
  items.forEach((item, r) => {
    const rowSurface = typeof surface === "number" ? surface : (surface[r] as number);
    let request = prepared.get(rowSurface);
    if (!request) prepared.set(rowSurface, (request = prepareMtmlRequest(context, user, rowSurface, nowMs)));
    writeMtmlItemRow(context, request, item, inputs, r);
  });
  return inputs;
}

/** The Explore value model over the MTML's probabilities: EV · exp(log prior), one score per row. */
export function valueScores(valueModel: ExploreValueModel, probabilities: Float32Array, logPriors: ArrayLike<number>): Float64Array {
  const out = new Float64Array(logPriors.length);
  for (let r = 0; r < out.length; r++) out[r] = impressionValue(valueModel, probabilities, r) * Math.exp(logPriors[r] as number);
  return out;
}

/**
 * log prior per item: relative exposure from the bundle's counters, the retrieval two-tower's affinity (when the
 * user's embedding is given; else 0) and the candidate's source term (`priorSourceScore`; 0 outside retrieval).
 */
export function logPriors(tables: BundleTables, model: ExploreValueModel, items: readonly number[], sourceScores: ArrayLike<number>, userEmbedding: Float32Array | undefined): Float64Array {
  const { dim, temperature } = tables.manifest.models.retrieval;
  const cosines = userEmbedding && priorNeedsAffinity(model) ? rowDots(tables.retrievalItemEmbeddings, dim, userEmbedding, items) : undefined;
  const out = new Float64Array(items.length);
  for (let c = 0; c < items.length; c++) {
    out[c] = exploreLogPrior(model, {
      relativeExposure: tables.relativeExposure(items[c] as number),
      affinity: cosines ? ((cosines[c] as number) - 1) / temperature : 0,
      sourceScore: sourceScores[c] as number,
    });
  }
  return out;
}
