// The committed Worker for a reliability section to serve: `git archive HEAD` in a temporary directory, node_modules
// linked. `wrangler dev` watches the files it serves and restarts the Worker when one changes, so a run served from a
// working tree that others edit at the same time measures their half-written code and its restarts ("Your worker
// restarted mid-request", a plain-text 503) instead of the Worker.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../bench/wrangler";

export interface HeadSnapshot {
  /** Where HEAD's files are (pass it to startDevServer as the checkout). */
  readonly directory: string;
  /** HEAD's short hash, for the report. */
  readonly commit: string;
  /** Removes the directory. */
  dispose(): void;
}

export function snapshotOfHead(prefix: string): HeadSnapshot {
  const directory = mkdtempSync(join(tmpdir(), `${prefix}-`));
  try {
    const commit = execFileSync("git", ["-C", REPO_ROOT, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    execFileSync("sh", ["-c", 'git -C "$1" archive HEAD | tar -x -C "$2"', "sh", REPO_ROOT, directory]);
    symlinkSync(join(REPO_ROOT, "node_modules"), join(directory, "node_modules"));
    return { directory, commit, dispose: () => rmSync(directory, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The fixture bundle of the code a checkout holds: built (or found cached, by the hash of its sources) by that
 * checkout's own test/support/fixture-bundle.ts, so HEAD's Worker serves HEAD's bundle even while the working tree's
 * pipeline or serving config has edits HEAD's Worker cannot decode.
 */
export async function fixtureBundleOf(checkout: string): Promise<string> {
  const script = "const m = await import('./test/support/fixture-bundle.ts'); console.log(JSON.stringify(await m.fixtureBundleDirectory()));";
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: checkout, encoding: "utf8", timeout: 20 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  const lines = stdout.trim().split("\n");
  const parsed: unknown = JSON.parse(lines[lines.length - 1] ?? "null");
  if (typeof parsed !== "object" || parsed === null || !("bundle" in parsed) || typeof parsed.bundle !== "string") throw new Error(`no fixture bundle from ${checkout}: ${stdout.slice(-500)}`);
  return parsed.bundle;
}
