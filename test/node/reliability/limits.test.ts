// The limits section's smoke run (issue 17, section 6): against `wrangler dev` on loopback, every route's body limit on
// both sides of its edge (with Content-Length and chunked), the per-token rate limit (429 with Retry-After, other
// tokens served meanwhile, recovery), and no token echoed in any answer or in wrangler's output.
import { describe, expect, it } from "vitest";
import { runLimitsSection } from "../../../scripts/reliability/limits";

describe("reliability: limits (smoke)", () => {
  it("measures every body limit at its contract, rate-limits per token with Retry-After, and echoes no secret", async () => {
    const lines: string[] = [];
    const result = await runLimitsSection({ smoke: true, log: (line) => lines.push(line) });
    const failed = result.rows.filter((row) => !row.pass);
    expect(failed, `${failed.map((row) => `${row.measure}: ${row.value}`).join("\n")}\n\n${result.markdown}\n\n${lines.join("\n")}`).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.rows.filter((row) => row.measure.startsWith("body limit ")).length).toBeGreaterThanOrEqual(7);
    expect(result.rows.find((row) => row.measure === "secrets echoed in answers (bodies, headers)")?.value).toMatch(/^0 of /);
  }, 90_000);
});
