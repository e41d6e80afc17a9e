// The fuzzing section of `npm run reliability` (scripts/reliability/fuzz.ts, issue 17), in its smoke version: 2,000
// fuzzed requests over every route against `wrangler dev` serving a snapshot of HEAD with the fixture bundle, sent to
// the Worker's own Miniflare socket (not wrangler's dev proxy, which answers plain-text 5xx of its own to requests the
// Worker answered early: see runFuzz). Every row must pass: 0 responses ≥ 500, the error body on every 4xx (a field
// on every 400), none ≥ 1 s, no counterexample (~1 min on 2 cores; the fuzzing loop stops by itself within 2 min).
import { describe, expect, it } from "vitest";
import { runFuzzSection } from "../../../scripts/reliability/fuzz";

describe("reliability: fuzzing (smoke)", () => {
  it("answers every fuzzed request below 500, with the error body on every 4xx, within 1 s", async () => {
    const lines: string[] = [];
    const result = await runFuzzSection({ smoke: true, log: (line) => lines.push(line) });
    const failed = result.rows.filter((row) => !row.pass);
    // the whole report on failure: the counterexamples, failed and slow answers are in it
    expect(failed, `${failed.map((row) => `${row.measure}: ${row.value}`).join("\n")}\n\n${result.markdown}\n\n${lines.join("\n")}`).toEqual([]);
    expect(result.ok).toBe(true);
    const serverErrors = result.rows.find((row) => row.measure.startsWith("responses ≥ 500"));
    expect(serverErrors?.value).toMatch(/^0 of /);
    expect(result.rows.find((row) => row.measure === "fuzzed requests")?.value).toMatch(/over (\d+) of \1 routes/);
  }, 300_000);
});
