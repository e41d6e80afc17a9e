// The fuzzing section's smoke run (issue 17): ~2,000 fuzzed requests against `wrangler dev` on loopback, serving the
// fixture bundle from a fresh local KV. Every row must pass, and none may report a response ≥ 500.
// It runs with `npm run test:reliability`, not inside `npm test`: today it fails. Some fuzzed requests still get a
// plain-text 5xx from wrangler dev's proxy in front of the Worker (never the Worker's own JSON error), and which
// request breaks the connection it shares is not yet known (issue 17). It joins `npm test` once it passes.
import { describe, expect, it } from "vitest";
import { runFuzzSection } from "../../scripts/reliability/fuzz";

describe("reliability: fuzzing (smoke)", () => {
  it("answers every fuzzed request below 500, with the error body on every 4xx", async () => {
    const lines: string[] = [];
    const result = await runFuzzSection({ smoke: true, log: (line) => lines.push(line) });
    const failed = result.rows.filter((row) => !row.pass);
    // the whole report on failure: the counterexamples are in it
    expect(failed, `${failed.map((row) => `${row.measure}: ${row.value}`).join("\n")}\n\n${result.markdown}\n\n${lines.join("\n")}`).toEqual([]);
    expect(result.ok).toBe(true);
    const serverErrors = result.rows.find((row) => row.measure.startsWith("responses ≥ 500"));
    expect(serverErrors?.value).toMatch(/^0 of /);
    expect(result.rows.find((row) => row.measure === "fuzzed requests")?.value).toMatch(/over (\d+) of \1 routes/);
  }, 600_000);
});
