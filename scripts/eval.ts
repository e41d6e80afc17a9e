/**
 * npm run eval -- [--data <dir>] [--train-end YYYYMMDD] [--test-start YYYYMMDD] [--test-end YYYYMMDD]
 *                 [--bundle <dir> | --no-bundle] [--no-suggested] [--json <file>] [--reliability-svg <file>]
 * npm run eval -- --rolling [--windows D1,D2,…] [--test-days N] [--systems bars|all] [--pipeline-args "<args>"] [--json <file>]
 *
 * One split: every system beside the baselines, with both protocols of core/eval. Rolling: for each window D, the
 * bundle trained and tuned through D by its own pipeline (built when missing or built by other code), measured on
 * D+1..D+N; every window's table, then the windows side by side with their mean and the bars they miss.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadDataset } from "../core/data/load";
import { localDay, splitByDate, dayStartMs } from "../core/data/split";
import { formatReport } from "../core/eval/report";
import { DirectoryDataSource } from "./lib/directory-source";
import { defaultBundleDirectory, ensureBundle } from "./lib/default-bundle";
import { UsageError, runCli } from "./lib/cli";
import { DEFAULT_ROLLING_WINDOWS, DEFAULT_TEST_DAYS, barFailures, formatRolling, summariseWindow, type WindowSummary } from "./eval/rolling";
import { evaluateWindow, type WindowOptions } from "./eval/window";
import { reliabilitySvg } from "../core/eval/reliability-svg";

const USAGE = "usage: npm run eval -- [--data <dir>] [--train-end YYYYMMDD] [--test-start YYYYMMDD] [--test-end YYYYMMDD] [--bundle <dir> | --no-bundle] [--no-suggested] [--suggested-count <n>] [--suggested-home bundle|defaults] [--systems all|bars] [--json <file>] [--reliability-svg <file>]\n       npm run eval -- --rolling [--windows YYYYMMDD,…] [--test-days N] [--systems bars|all] [--pipeline-args \"<args>\"] [--bundle-root <dir>] [--json <file>]";
const DAY_MS = 86_400_000;

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "data/kuairand-pure" },
      "train-end": { type: "string", default: "20220503" },
      "test-start": { type: "string", default: "20220504" },
      "test-end": { type: "string" },
      json: { type: "string" },
      // the reliability plot of the scorers of probabilities (MTML, item rates), one panel per label
      "reliability-svg": { type: "string" },
      bundle: { type: "string" },
      "no-bundle": { type: "boolean", default: false },
      "fidelity-users": { type: "string", default: "500" },
      "funnel-fidelity-users": { type: "string", default: "300" },
      // Suggested Posts (`suggested`): about a minute on the default split; --no-suggested skips it
      "no-suggested": { type: "boolean", default: false },
      "suggested-count": { type: "string", default: "100" },
      // "defaults": Suggested Posts without the bundle's Home terms (suggested.home at its defaults), for a side-by-side
      "suggested-home": { type: "string", default: "bundle" },
      systems: { type: "string" },
      rolling: { type: "boolean", default: false },
      windows: { type: "string", default: DEFAULT_ROLLING_WINDOWS.join(",") },
      "test-days": { type: "string", default: String(DEFAULT_TEST_DAYS) },
      // options for the pipelines that build the windows' bundles (e.g. "--tune-prior learned"), kept in their own directories
      "pipeline-args": { type: "string", default: "" },
      // where the windows' bundles live (bundles/train-<D> by default)
      "bundle-root": { type: "string", default: "bundles" },
    },
    strict: true,
  });
  const systems = values.systems ?? (values.rolling ? "bars" : "all");
  if (values["suggested-home"] !== "bundle" && values["suggested-home"] !== "defaults") throw new UsageError("--suggested-home must be bundle or defaults");
  if (systems !== "all" && systems !== "bars") throw new UsageError("--systems must be all or bars");
  const started = performance.now();
  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  console.error(`loaded ${values.data} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const log = (line: string) => console.error(line);
  const options = (bundle: string | undefined): WindowOptions => ({
    bundle,
    systems,
    suggested: !values["no-suggested"],
    suggestedCount: Number(values["suggested-count"]),
    suggestedHome: values["suggested-home"] === "defaults" ? "defaults" : "bundle",
    fidelityUsers: Number(values["fidelity-users"]),
    funnelFidelityUsers: Number(values["funnel-fidelity-users"]),
    log,
  });

  if (!values.rolling) {
    const split = splitByDate(dataset, { trainEnd: values["train-end"], testStart: values["test-start"], testEnd: values["test-end"] });
    let bundle: string | undefined;
    if (!values["no-bundle"]) {
      bundle = values.bundle ?? defaultBundleDirectory(split.trainEnd);
      if (!values.bundle) await ensureBundle(bundle, values.data, split.trainEnd, log, { current: true });
    }
    const result = await evaluateWindow(dataset, split, options(bundle));
    result.report.seconds.total = (performance.now() - started) / 1000;
    console.log(formatReport(result.report));
    if (values.json) {
      await writeFile(values.json, `${JSON.stringify(result.suggested ? { ...result.report, suggested: result.suggested } : result.report, null, 2)}\n`);
      console.error(`wrote ${values.json}`);
    }
    if (values["reliability-svg"]) {
      await writeFile(values["reliability-svg"], reliabilitySvg(result.report.impressions, dataset.labels));
      console.error(`wrote ${values["reliability-svg"]}`);
    }
    return;
  }

  if (values.bundle || values["no-bundle"]) throw new UsageError("--rolling builds (or reuses) one bundle per window: --bundle and --no-bundle do not apply");
  const testDays = Number(values["test-days"]);
  if (!Number.isSafeInteger(testDays) || testDays < 1) throw new UsageError("--test-days must be a positive integer");
  const tz = dataset.timezoneOffsetMinutes;
  const pipelineArgs = values["pipeline-args"].split(/\s+/).filter((arg) => arg.length > 0);
  const summaries: WindowSummary[] = [];
  const reports: unknown[] = [];
  for (const trainEnd of values.windows.split(",").map((day) => day.trim())) {
    const trainEndMs = dayStartMs("windows", trainEnd, tz) + DAY_MS;
    const split = splitByDate(dataset, { trainEnd, testStart: localDay(trainEndMs, tz), testEnd: localDay(trainEndMs + (testDays - 1) * DAY_MS, tz) });
    const bundle = join(values["bundle-root"], `train-${trainEnd}${pipelineArgs.join("").replace(/[^A-Za-z0-9]+/g, "-")}`);
    log(`\n=== window: train ..${trainEnd}, test ${split.testStart}..${split.testEnd} (bundle ${bundle})`);
    await ensureBundle(bundle, values.data, trainEnd, log, { current: true, pipelineArgs });
    const result = await evaluateWindow(dataset, split, options(bundle));
    console.log(`\n=== train ..${trainEnd}, test ${split.testStart}..${split.testEnd}\n${formatReport(result.report)}`);
    summaries.push(summariseWindow(result.report, bundle));
    reports.push(result.suggested ? { ...result.report, suggested: result.suggested } : result.report);
  }
  console.log(`\n=== rolling windows (${((performance.now() - started) / 60_000).toFixed(1)} min)\n${formatRolling(summaries)}`);
  const failures = barFailures(summaries);
  console.log(failures.length === 0 ? "\nevery bar holds on every window" : `\nbars missed:\n${failures.map((f) => `  - ${f}`).join("\n")}`);
  if (values.json) {
    await writeFile(values.json, `${JSON.stringify({ windows: summaries, failures, reports }, null, 2)}\n`);
    console.error(`wrote ${values.json}`);
  }
});
