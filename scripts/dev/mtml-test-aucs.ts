/**
 * Development measurement: a bundle's MTML AUC per label on a window's test impressions, scored as `npm run eval`'s
 * `mtml` scorer does (state at the end of training), without the rest of the evaluation: a quick check between
 * fine-tune experiments.
 *   npx tsx scripts/dev/mtml-test-aucs.ts --bundle <dir> --train-end D --test-start D' [--test-end D''] [--data <dir>]
 */
import { LABELS } from "../../core/data/labels";
import { auc } from "../../core/eval/metrics";
import { scoredTestWindowFromArgs } from "./scored-test-window";

const { split, kept, probabilities } = await scoredTestWindowFromArgs();
const cells = LABELS.map((label, l) => {
  const column = split.test.labels[label];
  const labels = kept.map((row) => column?.[row] ?? 0);
  const positives = labels.reduce((sum, value) => sum + value, 0);
  const value = auc(kept.map((_, k) => probabilities[k * LABELS.length + l] as number), labels);
  return `${label} ${value === null ? "—" : value.toFixed(4)} (${positives})`;
});
console.log(`${kept.length} impressions: ${cells.join(", ")}`);
