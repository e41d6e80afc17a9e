/**
 * npm run finetune:replay-to-log -- [--data <dir>] --from YYYYMMDD --to YYYYMMDD --out <log dir> [--writer <name>]
 *
 * Writes the data set's impressions of the local days from..to as the event log that `POST /v1/events` produces — the
 * same format, written by the Worker's own writer code (core/event-log/format.ts; scripts/finetune/replay-log.ts):
 * `<out>/events/v1/hour=YYYYMMDDHH/<writer>-<from>-<to>.csv`. `npm run finetune` reads it back like the live log.
 */
import { parseArgs } from "node:util";
import { loadDataset } from "../../core/data/load";
import { dayStartMs } from "../../core/data/split";
import { DirectoryDataSource } from "../lib/directory-source";
import { UsageError, runCli } from "../lib/cli";
import { writeLogObject } from "./log-directory";
import { datasetToLog } from "./replay-log";

const USAGE = "usage: npm run finetune:replay-to-log -- [--data <dir>] --from YYYYMMDD --to YYYYMMDD --out <log dir> [--writer <name>]";
const DAY_MS = 86_400_000;

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: { data: { type: "string", default: "data/kuairand-pure" }, from: { type: "string" }, to: { type: "string" }, out: { type: "string" }, writer: { type: "string", default: "replay" } },
    strict: true,
  });
  if (!values.from || !values.to || !values.out) throw new UsageError("--from, --to and --out are required");
  const dataset = await loadDataset(new DirectoryDataSource(values.data));
  const tz = dataset.timezoneOffsetMinutes;
  const log = datasetToLog(dataset, dayStartMs("from", values.from, tz), dayStartMs("to", values.to, tz) + DAY_MS, values.writer);
  for (const object of log.objects) await writeLogObject(values.out, object);
  console.log(`wrote ${log.events} events of ${values.from}..${values.to} in ${log.objects.length} hourly objects under ${values.out}/events/v1/`);
});
