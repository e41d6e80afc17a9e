import { spawn } from "node:child_process";
import { access } from "node:fs/promises";
import { join } from "node:path";

/** Where the bundle for a training window lives when no --bundle is given. */
export function defaultBundleDirectory(trainEnd: string): string {
  return trainEnd === "20220503" ? "bundles/default" : `bundles/train-${trainEnd}`;
}

/** Builds the bundle with `npm run pipeline` when `directory/manifest.json` is missing. */
export async function ensureBundle(directory: string, data: string, trainEnd: string, log: (line: string) => void): Promise<void> {
  try {
    await access(join(directory, "manifest.json"));
    return;
  } catch {
    log(`no bundle in ${directory}: building it (npm run pipeline -- --data ${data} --train-end ${trainEnd} --out ${directory})`);
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/pipeline.ts", "--data", data, "--train-end", trainEnd, "--out", directory], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`the pipeline exited with code ${code}`))));
  });
}
