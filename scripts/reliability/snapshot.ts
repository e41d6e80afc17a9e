// The committed Worker for a reliability section to serve: `git archive HEAD` in a temporary directory, node_modules
// linked. `wrangler dev` watches the files it serves and restarts the Worker when one changes, so a run served from a
// working tree that others edit at the same time measures their half-written code and its restarts ("Your worker
// restarted mid-request", a plain-text 503) instead of the Worker.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
