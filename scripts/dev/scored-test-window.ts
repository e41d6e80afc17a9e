/**
 * For development measurements of the MTML on a window's test days (gauc-front.ts, calibration-drift.ts): the
 * command line they share (--bundle <dir> --train-end D --test-start D' [--test-end D''] [--data <dir>]), the data
 * split there, and the test impressions of items the bundle knows, each scored by the bundle's MTML once, as
 * explore_score does (state at the end of training).
 */
import { parseArgs } from "node:util";
import { LABELS } from "../../core/data/labels";
import { loadDataset } from "../../core/data/load";
import { splitByDate, type TimeSplit } from "../../core/data/split";
import type { Dataset } from "../../core/data/dataset";
import { BundleRows } from "../../core/eval/systems/bundle-systems";
import { mtmlProbabilities } from "../../core/funnel/scoring";
import { openServingBundle, type ServingBundle } from "../../core/serving/serving-bundle";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { DirectoryDataSource } from "../lib/directory-source";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createOnnxruntimeNodeAdapter } from "../onnx/ort-node";

export interface ScoredTestWindow {
  readonly dataset: Dataset;
  readonly split: TimeSplit;
  readonly bundle: ServingBundle;
  readonly rows: BundleRows;
  /** Rows of `split.test` whose item the bundle knows, in test order. */
  readonly kept: readonly number[];
  /** Per user, their rows of `split.test` among `kept`. */
  readonly byUser: ReadonlyMap<number, readonly number[]>;
  /** A row of `split.test` → its index in `kept`. */
  readonly at: ReadonlyMap<number, number>;
  /** [kept.length × LABELS.length]: the MTML's probabilities, row k for kept[k]. */
  readonly probabilities: Float32Array;
}

export async function scoredTestWindowFromArgs(): Promise<ScoredTestWindow> {
  const { values } = parseArgs({ options: { data: { type: "string", default: "data/kuairand-pure" }, bundle: { type: "string" }, "train-end": { type: "string" }, "test-start": { type: "string" }, "test-end": { type: "string" } } });
  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  const split = splitByDate(dataset, { trainEnd: values["train-end"] as string, testStart: values["test-start"] as string, testEnd: values["test-end"] });
  const bundleFiles = await loadBundleDirectory(values.bundle as string);
  const bundle = await openServingBundle(bundleFiles.manifest, bundleFiles.files, createOnnxruntimeNodeAdapter(), createNodeUsearchRuntime());
  const mtml = bundle.models.mtml;
  if (!mtml) throw new Error("the bundle's MTML did not load");
  const rows = new BundleRows(dataset, bundle.tables);
  const test = split.test;
  const kept: number[] = [];
  const byUser = new Map<number, number[]>();
  for (let i = 0; i < test.size; i++) {
    if ((rows.itemToBundle[test.item[i] as number] as number) < 0) continue;
    kept.push(i);
    const user = test.user[i] as number;
    const rowsOfUser = byUser.get(user);
    if (rowsOfUser) rowsOfUser.push(i);
    else byUser.set(user, [i]);
  }
  const at = new Map(kept.map((row, k) => [row, k]));
  const probabilities = new Float32Array(kept.length * LABELS.length);
  for (const [user, positions] of byUser) {
    const items = positions.map((p) => rows.itemToBundle[test.item[p] as number] as number);
    const scored = await mtmlProbabilities(bundle.tables, { mtml, mtmlOneUser: bundle.models.mtmlOneUser }, rows.userContext(user), items, positions.map((p) => test.surface[p] as number), bundle.tables.asOfMs);
    positions.forEach((p, r) => probabilities.set(scored.subarray(r * LABELS.length, (r + 1) * LABELS.length), (at.get(p) as number) * LABELS.length));
  }
  return { dataset, split, bundle, rows, kept, byUser, at, probabilities };
}
