import { loadDataset, splitByDate } from "../../core/data";
import { BundleRows, TwoTowerRecommender } from "../../core/eval/systems/bundle-systems";
import { ExploreSystems } from "../../core/eval/systems/funnel-systems";
import { createRanker } from "../../core/funnel/ranker";
import type { RankerModels } from "../../core/serving/ranker-models";
import { createNodeUsearchRuntime } from "../ann/usearch-wasm";
import { DirectoryDataSource } from "../lib/directory-source";
import { loadBundleDirectory } from "../lib/kv-bundle-directory";
import { createNodeOrtWebAdapter } from "../onnx/ort-web-node";
const dataset = await loadDataset(new DirectoryDataSource("data/kuairand-pure"));
const bundle = await loadBundleDirectory("bundles/default");
const ranker = await createRanker(bundle.manifest, bundle.files, createNodeOrtWebAdapter(), createNodeUsearchRuntime());
const rows = new BundleRows(dataset, ranker.assets);
const explore = new ExploreSystems(rows, ranker, ranker.assets.config);
const tt = new TwoTowerRecommender(rows, ranker.models as RankerModels);
for (const user of [5, 100, 2000]) {
  const a = await tt.recommend({ user, atMs: 0, count: 20 });
  const b = await explore.source("two_tower").recommend({ user, atMs: 0, count: 20 });
  console.log(user, Array.from(a.items).join(","), "\n   ", Array.from(b.items).join(","));
}
