// The events section's smoke run (issue 17, section 3): a few thousand events from 16 concurrent clients against
// `wrangler dev` on loopback, clean and then with Durable Object failures injected mid-batch, and each event exactly
// once in the user states, trending and the event log afterwards.
import { describe, expect, it } from "vitest";
import { runEventsSection } from "../../../scripts/reliability/events";

describe("reliability: events under concurrency (smoke)", () => {
  it("holds every event exactly once in every store, with failures injected", async () => {
    const lines: string[] = [];
    const result = await runEventsSection({ smoke: true, log: (line) => lines.push(line) });
    const failed = result.rows.filter((row) => !row.pass);
    expect(failed, `${failed.map((row) => `${row.measure}: ${row.value}`).join("\n")}\n\n${result.markdown}\n\n${lines.join("\n")}`).toEqual([]);
    expect(result.ok).toBe(true);
    for (const store of ["user state", "trending", "event log"]) expect(result.rows.find((row) => row.measure === `${store}: lost / doubled`)?.value).toMatch(/^0 \/ 0 of [\d,]+$/);
    expect(result.rows.find((row) => row.measure === "injected Durable Object failures")?.pass).toBe(true);
  }, 600_000);
});
