// The resident memory of wrangler dev's workerd processes, and the straight line fitted through it: what the load
// section (load.ts) and its control (memory-control.ts) measure the same way.
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

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

/** Least-squares line through the points: its slope and the slope's standard error (NaN below three points). */
export function fitLine(points: ReadonlyArray<readonly [number, number]>): { slope: number; standardError: number } {
  if (points.length < 2) return { slope: Number.NaN, standardError: Number.NaN };
  const mx = sum(points.map(([x]) => x)) / points.length;
  const my = sum(points.map(([, y]) => y)) / points.length;
  const sxx = sum(points.map(([x]) => (x - mx) ** 2));
  if (sxx === 0) return { slope: Number.NaN, standardError: Number.NaN };
  const fitted = sum(points.map(([x, y]) => (x - mx) * (y - my))) / sxx;
  const residuals = sum(points.map(([x, y]) => (y - my - fitted * (x - mx)) ** 2));
  return { slope: fitted, standardError: points.length < 3 ? Number.NaN : Math.sqrt(residuals / (points.length - 2) / sxx) };
}
