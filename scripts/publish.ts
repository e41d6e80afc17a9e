/**
 * npm run publish -- --bundle <dir> [--local | --remote] [--dry-run] [--keep <n>] [--no-activate]
 *                    [--config wrangler.toml] [--binding BUNDLES] [--persist-to <dir>] [--env <name>]
 *
 * Checks a bundle directory (manifest, every file's size and sha256), uploads it to Workers KV under
 * `bundle/<version>/`, and then points `bundle/active` at it. --local (the default) writes the KV that
 * `wrangler dev` / `npm start` serve; --remote writes the real namespace through wrangler (needs `wrangler login`
 * and the namespace id in wrangler.toml). See models/README.md, "Bundle layout and publishing".
 */
import { parseArgs } from "node:util";
import { BundleError } from "../core/bundle/errors";
import { KV_MAX_VALUE_BYTES } from "../core/bundle/kv-layout";
import { UsageError, runCli } from "./lib/cli";
import { publishDirectory } from "./lib/kv-publish";

const USAGE =
  "usage: npm run publish -- --bundle <dir> [--local | --remote] [--dry-run] [--keep <n>] [--no-activate] [--config wrangler.toml] [--binding BUNDLES] [--persist-to <dir>] [--env <name>] [--json]";

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      bundle: { type: "string" },
      local: { type: "boolean", default: false },
      remote: { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      keep: { type: "string" },
      "no-activate": { type: "boolean", default: false },
      config: { type: "string", default: "wrangler.toml" },
      binding: { type: "string", default: "BUNDLES" },
      "persist-to": { type: "string" },
      env: { type: "string" },
      // Smaller chunks than the 25 MiB KV limit; for exercising chunking by hand.
      "chunk-bytes": { type: "string" },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.bundle === undefined) throw new UsageError("--bundle <dir> is required");
  if (values.local && values.remote) throw new UsageError("choose one of --local and --remote");
  if (values.remote && values["persist-to"] !== undefined) throw new UsageError("--persist-to only applies to --local");
  const keepVersions = values.keep === undefined ? undefined : positiveInteger(values.keep, "--keep");
  const chunkBytes = values["chunk-bytes"] === undefined ? undefined : positiveInteger(values["chunk-bytes"], "--chunk-bytes");
  if (chunkBytes !== undefined && chunkBytes > KV_MAX_VALUE_BYTES) throw new UsageError(`--chunk-bytes must be at most ${KV_MAX_VALUE_BYTES} (the KV value limit)`);

  const target = values.remote
    ? { kind: "remote" as const, configPath: values.config, binding: values.binding, environment: values.env }
    : { kind: "local" as const, configPath: values.config, binding: values.binding, persistTo: values["persist-to"] };
  try {
    const report = await publishDirectory(values.bundle, target, { dryRun: values["dry-run"], activate: !values["no-activate"], keepVersions, chunkBytes });
    const summary = `${values["dry-run"] ? "[dry run] " : ""}published ${report.version} (${report.upload}, ${report.valuesWritten} values, ${report.bytesWritten} bytes)${
      !report.activated ? "; active unchanged" : report.previousActive === report.version ? `; active: ${report.version} (already)` : `; active: ${report.previousActive ?? "(none)"} -> ${report.version}`
    }${report.pruned.length > 0 ? `; pruned ${report.pruned.join(", ")}` : ""} in ${report.seconds.total.toFixed(2)} s (read ${report.seconds.read.toFixed(2)} s, open KV ${report.seconds.open.toFixed(2)} s, write ${report.seconds.publish.toFixed(2)} s)`;
    console.error(summary);
    if (values.json) console.log(JSON.stringify(report));
  } catch (error) {
    if (error instanceof BundleError) {
      console.error(`error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
});

function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}
