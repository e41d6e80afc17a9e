/**
 * npm run finetune:replay -- [--data <dir>] [--base-end YYYYMMDD] [--train-end YYYYMMDD] [--step hour|day] [--work <dir>] [--base <bundle dir>] [--scratch <bundle dir>]
 *
 * Does hourly fine-tuning keep up with training from scratch? On the shipped data:
 * 1. a bundle trained from scratch through --base-end (npm run pipeline -- --no-tune), or --base, one built so;
 * 2. each following hour (or day, `--step day`) through --train-end written as the Worker's event log (replay-log.ts:
 *    the format and writer code of POST /v1/events), then `npm run finetune` from the bundle that is active (a refused
 *    candidate leaves it active, as in production, and its events are trained on by the next step's fine-tune);
 * 3. a bundle trained from scratch through --train-end (or --scratch, one built so by this checkout: the one-hour
 *    fine-tune starts from it and needs its trainer weights);
 * 4. `npm run eval` of both on the split after --train-end: the feed's NDCG@10 (the `explore` system: click, long view,
 *    like) and the MTML's AUCs, side by side, and the bar (fine-tuned within 0.005 of, or above, from scratch); and
 *    retrieval's click recall@1000 beside them, unjudged;
 * 5. the time of a fine-tune on one hour's events (the busiest hour of the day after --train-end) from the
 *    from-scratch bundle.
 * Every step runs the project's own CLI, one at a time. Writes <work>/replay.json.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dayStartMs, localDay } from "../../core/data/split";
import { loadDataset } from "../../core/data/load";
import { LABELS } from "../../core/data/labels";
import { DirectoryDataSource } from "../lib/directory-source";
import { UsageError, runCli } from "../lib/cli";
import { writeLogObject } from "./log-directory";
import { datasetToLog } from "./replay-log";

const USAGE = "usage: npm run finetune:replay -- [--data <dir>] [--base-end YYYYMMDD] [--train-end YYYYMMDD] [--step hour|day] [--work <dir>] [--base <bundle dir>] [--scratch <bundle dir>]";
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The issue's bar: fine-tuned within this of the from-scratch bundle, or above it. */
const BAR = 0.005;
/** Printed beside the bar's measures, not judged by it: where a feed's gap comes from. */
const DIAGNOSTIC_MEASURES = new Set(["retrieval_recall@1000_click"]);

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "data/kuairand-pure" },
      "base-end": { type: "string", default: "20220501" },
      "train-end": { type: "string", default: "20220503" },
      step: { type: "string", default: "hour" },
      work: { type: "string", default: "/tmp/ft-replay" },
      scratch: { type: "string" },
      base: { type: "string" },
    },
    strict: true,
  });
  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  const tz = dataset.timezoneOffsetMinutes;
  const baseEndMs = dayStartMs("base-end", values["base-end"], tz) + DAY_MS;
  const trainEndMs = dayStartMs("train-end", values["train-end"], tz) + DAY_MS;
  if (trainEndMs <= baseEndMs) throw new UsageError("--train-end must come after --base-end");
  if (values.step !== "hour" && values.step !== "day") throw new UsageError(`--step must be hour or day (got ${values.step})`);
  const stepMs = values.step === "hour" ? HOUR_MS : DAY_MS;
  const work = values.work;
  await mkdir(work, { recursive: true });
  const logDirectory = join(work, "log");
  await rm(logDirectory, { recursive: true, force: true });

  // 1. from scratch through the base day
  const base = values.base ?? join(work, `scratch-${values["base-end"]}`);
  if (!values.base) await run("pipeline", ["scripts/pipeline.ts", "--data", values.data, "--no-tune", "--train-end", values["base-end"], "--out", base]);

  // 2. step by step: the step's log, then a fine-tune from the bundle that is active
  let active = base;
  const steps: { start: string; passed: boolean; seconds: number }[] = [];
  for (let stepStart = baseEndMs; stepStart < trainEndMs; stepStart += stepMs) {
    const start = new Date(stepStart).toISOString();
    for (const object of datasetToLog(dataset, stepStart, stepStart + stepMs, "replay").objects) await writeLogObject(logDirectory, object);
    const out = join(work, `finetuned-${values.step === "day" ? localDay(stepStart, tz) : start.slice(0, 13)}`);
    const started = performance.now();
    const code = await run("finetune", ["scripts/finetune.ts", "--data", values.data, "--from", active, "--events", logDirectory, "--out", out], { allowFailure: true });
    steps.push({ start, passed: code === 0, seconds: (performance.now() - started) / 1000 });
    if (code === 0) active = out;
    else console.log(`replay: the candidate of ${start} was refused; ${active} stays active`);
  }

  // 3. from scratch through the last day
  const scratch = values.scratch ?? join(work, `scratch-${values["train-end"]}`);
  if (!values.scratch) await run("pipeline", ["scripts/pipeline.ts", "--data", values.data, "--no-tune", "--train-end", values["train-end"], "--out", scratch]);

  // 4. both on the split after the last day
  const measured: Record<string, Record<string, number | null>> = {};
  for (const [name, bundle] of [["finetuned", active], ["scratch", scratch]] as const) {
    const json = join(work, `eval-${name}.json`);
    await run("eval", ["scripts/eval.ts", "--data", values.data, "--train-end", values["train-end"], "--bundle", bundle, "--no-suggested", "--json", json]);
    measured[name] = evalMeasures(JSON.parse(await readFile(json, "utf8")) as EvalJson);
  }

  // 5. one hour's fine-tune, from the from-scratch bundle: the busiest hour of the next day, alone in its log. The hours
  // between the bundle's end and it are then missing from the features' history, which changes their values, not the
  // work: the time is that of an hourly fine-tune on a busy hour
  const busiest = busiestHour(dataset.events.ts, trainEndMs, trainEndMs + DAY_MS);
  const hourLog = join(work, "hour-log");
  await rm(hourLog, { recursive: true, force: true });
  for (const object of datasetToLog(dataset, busiest, busiest + HOUR_MS, "replay").objects) await writeLogObject(hourLog, object);
  const hourStarted = performance.now();
  const hourCode = await run("finetune (one hour)", ["scripts/finetune.ts", "--data", values.data, "--from", scratch, "--events", hourLog, "--out", join(work, "finetuned-hour")], { allowFailure: true });
  const hourSeconds = (performance.now() - hourStarted) / 1000;

  const rows = Object.keys(measured.scratch ?? {}).map((measure) => {
    const tuned = measured.finetuned?.[measure] ?? null;
    const fresh = measured.scratch?.[measure] ?? null;
    const meets = tuned !== null && fresh !== null && !DIAGNOSTIC_MEASURES.has(measure) ? tuned >= fresh - BAR : null;
    return { measure, finetuned: tuned, scratch: fresh, delta: tuned !== null && fresh !== null ? tuned - fresh : null, meets_bar: meets };
  });
  const show = (value: number | null) => (value === null ? "—" : value.toFixed(4));
  const published = steps.filter((s) => s.passed);
  const stepSeconds = steps.map((s) => s.seconds).sort((a, b) => a - b);
  console.log(`\nreplay: from scratch through ${values["base-end"]}, fine-tuned ${values.step} by ${values.step} through ${values["train-end"]} (${published.length} of ${steps.length} candidates published; each fine-tune ${stepSeconds[0]?.toFixed(0)}–${stepSeconds.at(-1)?.toFixed(0)} s, median ${stepSeconds[Math.floor(stepSeconds.length / 2)]?.toFixed(0)} s), against from scratch through ${values["train-end"]}`);
  console.log(`published: ${published.map((s) => s.start).join(", ") || "none"}`);
  console.log(`${"measure".padEnd(27)} ${"fine-tuned".padStart(10)} ${"scratch".padStart(8)} ${"Δ".padStart(8)}  within ${BAR} or above`);
  for (const row of rows) console.log(`${row.measure.padEnd(27)} ${show(row.finetuned).padStart(10)} ${show(row.scratch).padStart(8)} ${(row.delta === null ? "—" : `${row.delta >= 0 ? "+" : ""}${row.delta.toFixed(4)}`).padStart(8)}  ${row.meets_bar === null ? "—" : row.meets_bar ? "yes" : "NO"}`);
  console.log(`one hour's fine-tune (${new Date(busiest).toISOString()}, the busiest hour of ${localDay(trainEndMs, tz)}, from ${scratch}): ${hourSeconds.toFixed(1)} s wall clock (exit ${hourCode}); its timing split is printed above`);
  await writeFile(join(work, "replay.json"), `${JSON.stringify({ base_end: values["base-end"], train_end: values["train-end"], step: values.step, steps, finetuned_bundle: active, scratch_bundle: scratch, rows, one_hour: { hour_start_ms: busiest, seconds: hourSeconds, exit: hourCode } }, null, 2)}\n`);
});

/** The start of the UTC hour in [fromMs, toMs) with the most events. */
function busiestHour(ts: Float64Array, fromMs: number, toMs: number): number {
  const counts = new Map<number, number>();
  for (const t of ts) if (t >= fromMs && t < toMs) counts.set(Math.floor(t / HOUR_MS) * HOUR_MS, (counts.get(Math.floor(t / HOUR_MS) * HOUR_MS) ?? 0) + 1);
  let best = fromMs;
  for (const [hour, count] of counts) if (count > (counts.get(best) ?? 0)) best = hour;
  return best;
}

interface EvalJson {
  readonly full_catalogue: Record<string, Record<string, { "ndcg@10"?: number; "recall@1000"?: number } | unknown>>;
  readonly impressions: Record<string, Record<string, { auc?: number | null } | null>>;
}

/** The measures the issue's bar names (the feed's NDCG@10 per label, each label's MTML AUC), and retrieval's recall. */
function evalMeasures(report: EvalJson): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const label of ["click", "long_view", "like"]) out[`feed_ndcg@10_${label}`] = (report.full_catalogue.explore?.[label] as { "ndcg@10"?: number } | undefined)?.["ndcg@10"] ?? null;
  for (const label of LABELS) out[`mtml_auc_${label}`] = report.impressions.mtml?.[label]?.auc ?? null;
  out["retrieval_recall@1000_click"] = (report.full_catalogue.explore_retrieval?.click as { "recall@1000"?: number } | undefined)?.["recall@1000"] ?? null;
  return out;
}

/** Runs one of the project's CLIs with this Node, printing its output; returns its exit code. */
async function run(name: string, args: readonly string[], options: { allowFailure?: boolean } = {}): Promise<number> {
  console.log(`\n$ ${name}: ${args.join(" ")}`);
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (exit) => resolve(exit ?? 1));
  });
  if (code !== 0 && !options.allowFailure) throw new Error(`${name} exited with ${code}`);
  return code;
}
