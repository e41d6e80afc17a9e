/**
 * npm run events:export -- --out <dir> [--config wrangler.toml] [--persist-to <dir>] [--binding EVENT_LOG]
 *
 * Copies the local event log — the R2 bucket `wrangler dev` / `npm start` write (README, "The event log") — to
 * `<dir>/events/v1/hour=YYYYMMDDHH/<writer>-<from>-<to>.csv`, the directory `npm run finetune -- --events <dir>` reads.
 * Run it while wrangler dev is stopped, or after the alarms (every ~10 s) have flushed the outboxes.
 */
import { parseArgs } from "node:util";
import { UsageError, runCli } from "./lib/cli";
import { exportEventLog } from "./event-log/export";
import { openLocalR2 } from "./event-log/local-r2";

const USAGE = "usage: npm run events:export -- --out <dir> [--config wrangler.toml] [--persist-to <dir>] [--binding EVENT_LOG]";

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      config: { type: "string", default: "wrangler.toml" },
      "persist-to": { type: "string" },
      binding: { type: "string", default: "EVENT_LOG" },
    },
  });
  if (values.out === undefined) throw new UsageError("--out <dir> is required");
  const local = await openLocalR2({ configPath: values.config, binding: values.binding, ...(values["persist-to"] === undefined ? {} : { persistTo: values["persist-to"] }) });
  try {
    const result = await exportEventLog(local.bucket, values.out);
    console.log(`${result.objects} log objects (${result.bytes} bytes) of bucket ${local.bucketName} in ${local.persistRoot} → ${values.out}; ${result.objects - result.unchanged} written, ${result.unchanged} already there`);
  } finally {
    await local.dispose();
  }
});
