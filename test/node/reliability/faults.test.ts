// The fault-injection section of `npm run reliability` (scripts/reliability/faults.ts), in its smoke version: every
// fault kind briefly, against `wrangler dev` serving HEAD with the fixture bundle (~2–3 min on 2 cores).
import { describe, expect, it } from "vitest";
import { runFaults } from "../../../scripts/reliability/faults";

describe("reliability: fault injection (smoke)", () => {
  it("answers every fault with 200s or its documented 503s, never hangs, and recovers", async () => {
    const lines: string[] = [];
    const result = await runFaults({ smoke: true, log: (line) => lines.push(line) });
    const failed = result.rows.filter((row) => !row.pass);
    expect(failed, `${failed.map((row) => `${row.measure}: ${row.value}`).join("\n")}\n\n${lines.join("\n")}`).toEqual([]);
    expect(result.ok).toBe(true);
    // ≥ 10 kinds, each a row, besides the two summary rows
    expect(result.rows.length).toBeGreaterThanOrEqual(12);
    const hung = result.rows.find((row) => row.measure.startsWith("hung requests"));
    expect(hung?.value).toMatch(/^0 of /);
  }, 600_000);
});
