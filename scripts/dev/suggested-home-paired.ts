/**
 * Development measurement: what Suggested Posts' Home terms cost or gain in click recall on the test days, user by
 * user. The same bundle serves every user twice, with its tuned `suggested.home` and with the Home terms off (the
 * schema's defaults), and the per-user differences of click recall at the page (20) and at the list (100) are
 * summarised with their standard error and the users whose recall moved at all. A mean of per-user differences has a
 * far smaller error than either mean: most users' lists do not change.
 *   npx tsx scripts/dev/suggested-home-paired.ts --bundle <dir> [--train-end D --test-start D --test-end D] [--data <dir>]
 */
import { parseArgs } from "node:util";
import { suggestedConfigSchema } from "../../core/config/suggested";
import { trainingData } from "../../core/eval/harness";
import { recallAtK } from "../../core/eval/metrics";
import { SUGGESTED_PAGE, SuggestedSystems, unfollowedPositives } from "../../core/eval/systems/suggested-systems";
import { openBundleWindow } from "./bundle-window";

const { values } = parseArgs({
  options: {
    bundle: { type: "string" },
    data: { type: "string", default: "data/kuairand-pure" },
    "train-end": { type: "string", default: "20220503" },
    "test-start": { type: "string", default: "20220504" },
    "test-end": { type: "string", default: "20220506" },
    count: { type: "string", default: "100" },
  },
});
const { dataset, split, bundle, rows, release } = await openBundleWindow(values.data, values.bundle, { trainEnd: values["train-end"], testStart: values["test-start"], testEnd: values["test-end"] });
const train = trainingData(dataset, split);
const config = bundle.tables.config;
const count = Number(values.count);
const withHome = new SuggestedSystems(rows, bundle, config, { count });
const withoutHome = new SuggestedSystems(rows, bundle, { ...config, suggested: { ...config.suggested, home: suggestedConfigSchema.parse({}).home } }, { count });
const positives = unfollowedPositives(train, split.test).get("click") as Map<number, Set<number>>;

const diffs = { page: [] as number[], list: [] as number[] };
const means = { withPage: 0, withoutPage: 0, withList: 0, withoutList: 0 };
for (const [user, relevant] of positives) {
  const a = rows.toDataset((await withHome.suggestions(user)).items, new Float32Array(0)).items;
  const b = rows.toDataset((await withoutHome.suggestions(user)).items, new Float32Array(0)).items;
  const pageA = recallAtK(a, relevant, SUGGESTED_PAGE);
  const pageB = recallAtK(b, relevant, SUGGESTED_PAGE);
  const listA = recallAtK(a, relevant, a.length);
  const listB = recallAtK(b, relevant, b.length);
  diffs.page.push(pageA - pageB);
  diffs.list.push(listA - listB);
  means.withPage += pageA;
  means.withoutPage += pageB;
  means.withList += listA;
  means.withoutList += listB;
}
const n = positives.size;
const summary = (values: readonly number[]) => {
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, se: Math.sqrt(variance / values.length), up: values.filter((v) => v > 0).length, down: values.filter((v) => v < 0).length };
};
const page = summary(diffs.page);
const list = summary(diffs.list);
const home = config.suggested.home;
console.log(`bundle ${bundle.tables.version}, test ${values["test-start"]}..${values["test-end"]}, ${n} users with a click on an unfollowed author; Home terms λ ${home.freshnessWeight} γ ${home.authorSimilarityWeight} excess ${home.maxTypeExcess}`);
console.log(`click recall@${SUGGESTED_PAGE}: with ${(means.withPage / n).toFixed(4)}, without ${(means.withoutPage / n).toFixed(4)}; paired difference ${page.mean.toFixed(5)} ± ${page.se.toFixed(5)} (s.e.), z ${(page.mean / page.se).toFixed(2)}; users up ${page.up}, down ${page.down}`);
console.log(`click recall@${count}: with ${(means.withList / n).toFixed(4)}, without ${(means.withoutList / n).toFixed(4)}; paired difference ${list.mean.toFixed(5)} ± ${list.se.toFixed(5)} (s.e.), z ${(list.mean / list.se).toFixed(2)}; users up ${list.up}, down ${list.down}`);
await release();
