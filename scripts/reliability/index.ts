/**
 * `npm run reliability [-- --smoke] [--sections fuzzing,faults,events,load,limits] [--out RELIABILITY.md]`: the issue-17 sections
 * one after another, each against its own `wrangler dev` on loopback, one table printed at the end. A full run writes
 * RELIABILITY.md (the table, each section's account, the machine); a smoke run writes nothing unless `--out` says so.
 * Exit 1 when any row misses its bar.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { machineInfo } from "../bench/measure";
import { runEventsSection } from "./events";
import { runFaultSection } from "./faults";
import { runFuzzSection } from "./fuzz";
import { runLoadSection } from "./load";
import { runLimitsSection } from "./limits";
import type { ReliabilityRow, ReliabilitySection, ReliabilitySectionResult } from "./section";

const SECTIONS: Readonly<Record<string, ReliabilitySection>> = { fuzzing: runFuzzSection, faults: runFaultSection, events: runEventsSection, load: runLoadSection, limits: runLimitsSection };

const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false }, sections: { type: "string", default: Object.keys(SECTIONS).join(",") }, out: { type: "string" } }, strict: true });
const names = values.sections.split(",").map((name) => name.trim()).filter((name) => name.length > 0);
const unknown = names.filter((name) => !Object.hasOwn(SECTIONS, name));
if (unknown.length > 0 || names.length === 0) {
  console.error(`usage: npm run reliability -- [--smoke] [--sections ${Object.keys(SECTIONS).join(",")}] [--out <file>]${unknown.length > 0 ? ` (unknown: ${unknown.join(", ")})` : ""}`);
  process.exit(2);
}

const started = performance.now();
const log = (line: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const results: ReliabilitySectionResult[] = [];
for (const name of names) {
  log(`=== ${name}${values.smoke ? " (smoke)" : ""}`);
  results.push(await (SECTIONS[name] as ReliabilitySection)({ smoke: values.smoke, log: (line) => log(`  ${line}`) }));
}

const rows = results.flatMap((result) => result.rows);
const table = formatTable(rows);
console.log(`\n${table}`);
const ok = results.every((result) => result.ok);
const minutes = (performance.now() - started) / 60_000;
console.log(ok ? `\nevery row holds (${minutes.toFixed(1)} min)` : `\nrows missed: ${rows.filter((row) => !row.pass).length} (${minutes.toFixed(1)} min)`);

const out = values.out ?? (values.smoke ? undefined : "RELIABILITY.md");
if (out) {
  const machine = machineInfo();
  const markdown = [
    "# Reliability",
    "",
    `Written by \`npm run reliability${values.smoke ? " -- --smoke" : ""}\` on ${new Date().toISOString().slice(0, 10)} (${minutes.toFixed(1)} min; ${JSON.stringify(machine)}). Every section drives the real Worker in \`wrangler dev\` on 127.0.0.1 with bounded loops.`,
    "",
    table,
    "",
    ...results.map((result) => result.markdown),
    "",
  ].join("\n");
  await writeFile(out, markdown);
  console.error(`wrote ${out}`);
}
process.exit(ok ? 0 : 1);

function formatTable(rows: readonly ReliabilityRow[]): string {
  const escape = (text: string) => text.replaceAll("|", "\\|");
  return ["| section | measure | value | bar | holds |", "|---|---|---|---|---|", ...rows.map((row) => `| ${escape(row.section)} | ${escape(row.measure)} | ${escape(row.value)} | ${escape(row.bar)} | ${row.pass ? "yes" : "**no**"} |`)].join("\n");
}
