// The second control for the load section's memory figures (issue 17): how much resident memory does workerd take
// for a SQLite-backed Durable Object as its database grows? A Durable Object of a dozen lines inserts rows of 1 kB
// into its own SQLite storage, 1 MB per step, in each of `--objects` objects (the load section's user state is 64
// group objects and one trending object), and after each step the script reads the anonymous resident memory of the
// workerd that Miniflare started for it (/proc/<pid>/smaps_rollup). It prints the memory against the megabytes each
// database holds, and the slope of that line below and above the knee where it flattens: what the state objects'
// page caches add to a workerd while their databases grow, and where it stops.
//
//   npx tsx scripts/reliability/sqlite-memory-control.ts [--objects 8] [--megabytes 24]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { fitLine } from "../lib/fit-line";

const OBJECT = `
export class Rows {
  constructor(ctx) {
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
  }
  async fetch(request) {
    const count = Number(new URL(request.url).searchParams.get("rows"));
    for (let i = 0; i < count; i++) this.sql.exec("INSERT INTO rows (body) VALUES (randomblob(1000))");
    return Response.json(this.sql.exec("SELECT count(*) AS rows FROM rows").one());
  }
}
export default {
  fetch(request, env) {
    const name = new URL(request.url).searchParams.get("object");
    return env.ROWS.get(env.ROWS.idFromName(name)).fetch(request);
  },
};
`;

/** Anonymous resident bytes of the workerd processes this process started (Miniflare's). */
function childAnonymousBytes(): number {
  const children = execFileSync("pgrep", ["-P", String(process.pid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  let total = 0;
  for (const child of children) {
    try {
      const rollup = readFileSync(`/proc/${child}/smaps_rollup`, "utf8");
      total += Number(/^Anonymous:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
    } catch {
      // exited
    }
  }
  return total;
}

function squaredResiduals(points: ReadonlyArray<readonly [number, number]>, line: { slope: number; intercept: number }): number {
  return points.reduce((total, [x, y]) => total + (y - (line.slope * x + line.intercept)) ** 2, 0);
}

const { values } = parseArgs({ options: { objects: { type: "string", default: "8" }, megabytes: { type: "string", default: "24" } }, strict: true });
const objects = Number(values.objects);
const megabytes = Number(values.megabytes);
if (!(Number.isInteger(objects) && objects >= 1 && objects <= 256 && Number.isInteger(megabytes) && megabytes >= 4 && megabytes <= 512)) {
  console.error("usage: sqlite-memory-control.ts [--objects 1..256] [--megabytes 4..512]");
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "sqlite-memory-control-"));
const miniflare = new Miniflare({ modules: true, script: OBJECT, compatibilityDate: "2026-04-01", durableObjects: { ROWS: { className: "Rows", useSQLite: true } }, durableObjectsPersist: join(work, "do") });
try {
  await miniflare.ready;
  const step = async (rows: number) => {
    for (let o = 0; o < objects; o++) await (await miniflare.dispatchFetch(`http://control/?object=o${o}&rows=${rows}`)).arrayBuffer();
  };
  await step(0);
  const mib = (bytes: number) => bytes / 2 ** 20;
  const points: Array<readonly [number, number]> = [[0, mib(childAnonymousBytes())]];
  for (let mb = 1; mb <= megabytes; mb++) {
    await step(1000);
    points.push([mb, mib(childAnonymousBytes())]);
  }
  console.log(`${objects} SQLite-backed Durable Object(s), 1 MB of rows per step each (Miniflare; workerd's anonymous resident memory):\n`);
  console.log("| MB per database | workerd MiB | MiB per object above the empty objects |");
  console.log("|---:|---:|---:|");
  const base = (points[0] as readonly [number, number])[1];
  for (const [mb, value] of points) console.log(`| ${mb} | ${value.toFixed(1)} | ${((value - base) / objects).toFixed(2)} |`);
  // the knee: the split into two lines that fits best
  let best: { knee: number; below: number; above: number; residual: number } | undefined;
  for (let knee = 3; knee <= megabytes - 3; knee++) {
    const left = points.filter(([mb]) => mb <= knee);
    const right = points.filter(([mb]) => mb >= knee);
    const below = fitLine(left);
    const above = fitLine(right);
    const residual = squaredResiduals(left, below) + squaredResiduals(right, above);
    if (!best || residual < best.residual) best = { knee, below: below.slope, above: above.slope, residual };
  }
  if (best) console.log(`\nBelow ${best.knee} MB per database: ${(best.below / objects).toFixed(3)} MiB of workerd memory per MB written, per object; above: ${(best.above / objects).toFixed(3)}.`);
} finally {
  await miniflare.dispose();
  rmSync(work, { recursive: true, force: true });
}
