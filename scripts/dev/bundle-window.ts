/**
 * For development measurements that serve a bundle offline over a window (suggested-home-paired.ts,
 * feedback-ranking.ts): the data set, its split at the given days, and the bundle opened as `npm run eval` opens it
 * (onnxruntime-web), refused unless it was trained through the split's last training day.
 */
import type { Dataset } from "../../core/data/dataset";
import { loadDataset } from "../../core/data/load";
import { splitByDate, type SplitDates, type TimeSplit } from "../../core/data/split";
import { BundleRows } from "../../core/eval/systems/bundle-systems";
import { releaseBundleModels, type BundleModels } from "../../core/serving/bundle-models";
import { openServingBundle, type ServingBundle } from "../../core/serving/serving-bundle";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { DirectoryDataSource } from "../lib/directory-source";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";

export interface BundleWindow {
  readonly dataset: Dataset;
  readonly split: TimeSplit;
  readonly bundle: ServingBundle;
  readonly rows: BundleRows;
  /** Frees the bundle's model sessions. */
  readonly release: () => Promise<void>;
}

export async function openBundleWindow(data: string, bundleDirectory: string | undefined, dates: SplitDates): Promise<BundleWindow> {
  if (!bundleDirectory) throw new Error("--bundle <dir> is required");
  const dataset = await loadDataset(new DirectoryDataSource(data));
  const split = splitByDate(dataset, dates);
  const files = await loadBundleDirectory(bundleDirectory);
  const bundle = await openServingBundle(files.manifest, files.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
  if (bundle.tables.manifest.data.train_end !== split.trainEnd) throw new Error(`the bundle was trained through ${bundle.tables.manifest.data.train_end}, not ${split.trainEnd}`);
  return { dataset, split, bundle, rows: new BundleRows(dataset, bundle.tables), release: () => releaseBundleModels(bundle.models as BundleModels) };
}
