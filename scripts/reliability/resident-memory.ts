// The resident memory of wrangler dev's workerd processes: what the load section (load.ts) and its control
// (memory-control.ts) measure the same way (the line through it: scripts/lib/fit-line.ts).
import { readFileSync } from "node:fs";
import { workerdResidentByPid } from "../bench/wrangler";

/** What `workerdProcesses` calls each process in `roles`. */
export interface WorkerdNames {
  readonly worker: string;
  readonly proxy: string;
  readonly other: string;
}

const WRANGLER_DEV_NAMES: WorkerdNames = { worker: "Worker", proxy: "dev proxy", other: "workerd" };

/**
 * Resident bytes of each workerd process below `rootPid`. wrangler dev runs two: the Worker's (started with an
 * inspector) and its dev proxy's (listening on the public port), which a deployed Worker does not have; `roles` learns
 * which is which from their command lines, under `names` (a second wrangler dev's processes get names of their own).
 */
export function workerdProcesses(rootPid: number, publicPort: string, roles: Map<number, string>, names: WorkerdNames = WRANGLER_DEV_NAMES): Map<number, number> {
  const rss = workerdResidentByPid(rootPid);
  for (const pid of rss.keys()) {
    if (roles.has(pid)) continue;
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      roles.set(pid, command.includes(`--socket-addr=entry=127.0.0.1:${publicPort}`) ? names.proxy : command.some((arg) => arg.startsWith("--inspector-addr")) ? names.worker : names.other);
    } catch {
      // exited
    }
  }
  return rss;
}
