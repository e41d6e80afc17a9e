// The resident memory of wrangler dev's workerd processes: what the load section (load.ts) and its control
// (memory-control.ts) measure the same way (the line through it: scripts/lib/fit-line.ts).
import { readFileSync } from "node:fs";
import { workerdResidentByPid } from "../bench/wrangler";

/**
 * Resident bytes of each workerd process below `rootPid`. wrangler dev runs two: the Worker's (started with an
 * inspector) and its dev proxy's (listening on the public port), which a deployed Worker does not have; `roles` learns
 * which is which from their command lines.
 */
export function workerdProcesses(rootPid: number, publicPort: string, roles: Map<number, string>): Map<number, number> {
  const rss = workerdResidentByPid(rootPid);
  for (const pid of rss.keys()) {
    if (roles.has(pid)) continue;
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      roles.set(pid, command.includes(`--socket-addr=entry=127.0.0.1:${publicPort}`) ? "dev proxy" : command.some((arg) => arg.startsWith("--inspector-addr")) ? "Worker" : "workerd");
    } catch {
      // exited
    }
  }
  return rss;
}
