import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { sourceHash } from "./source-hash";

/** Where the bundle for a training window lives when no --bundle is given. */
export function defaultBundleDirectory(trainEnd: string): string {
  return trainEnd === "20220503" ? "bundles/default" : `bundles/train-${trainEnd}`;
}

/**
 * Builds the bundle with `npm run pipeline` when `directory/manifest.json` is missing, or, with `current`, when the
 * bundle was built by other code than this checkout's (its manifest's `source_hash`): an evaluation then measures
 * the code it runs with.
 */
export async function ensureBundle(directory: string, data: string, trainEnd: string, log: (line: string) => void, options: { current?: boolean; pipelineArgs?: readonly string[] } = {}): Promise<void> {
  const manifest = await readFile(join(directory, "manifest.json"), "utf8").then((text) => JSON.parse(text) as { source_hash?: unknown }, () => undefined);
  if (manifest && !options.current) return;
  const pipelineArgs = options.pipelineArgs ?? [];
  if (manifest) {
    const current = await sourceHash(undefined, pipelineArgs.join(" "));
    if (manifest.source_hash === current) return;
    log(`the bundle in ${directory} was built by other code (source hash ${String(manifest.source_hash ?? "none")}, this checkout ${current}): rebuilding it`);
  } else {
    log(`no bundle in ${directory}: building it (npm run pipeline -- --data ${data} --train-end ${trainEnd} --out ${directory}${pipelineArgs.length > 0 ? ` ${pipelineArgs.join(" ")}` : ""})`);
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/pipeline.ts", "--data", data, "--train-end", trainEnd, "--out", directory, ...pipelineArgs], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`the pipeline exited with code ${code}`))));
  });
}
