// The mixed-load and model-swap section's smoke run (issue 17, sections 4 and 5): 60 s of explore, suggested, events
// and query traffic from 8 clients against `wrangler dev` on loopback, a new bundle version every 20 s and two
// half-published ones activated in between (~1.5 min on 2 cores; the bound leaves room for a host loaded by others).
import { describe, expect, it } from "vitest";
import { runLoad } from "../../../scripts/reliability/load";

describe("reliability: mixed load and model swaps under load (smoke)", () => {
  it("answers every request, serves every swap, names one published version per answer and never a half-published one", async () => {
    const lines: string[] = [];
    const result = await runLoad({ smoke: true, log: (line) => lines.push(line) });
    const failed = result.rows.filter((row) => !row.pass);
    expect(failed, `${failed.map((row) => `${row.measure}: ${row.value}`).join("\n")}\n\n${result.markdown}\n\n${lines.join("\n")}`).toEqual([]);
    expect(result.ok).toBe(true);
    const row = (prefix: string) => result.rows.find((candidate) => candidate.measure.startsWith(prefix));
    expect(row("mixed load: failed requests")?.value).toMatch(/^0 of [\d,]+ in /);
    expect(row("model swaps: failed requests during a swap")?.value).toMatch(/^0 of [\d,]+$/);
    // the isolate's JS heap and its ArrayBuffers were read through the inspector (numbers, not "NaN")
    expect(row("mixed load: workerd memory slope")?.value).toMatch(/JS heap floor [+-]\d+\.\d+ MiB\/min \(\d+ → \d+ MiB\)/);
    expect(row("mixed load: workerd memory slope")?.value).toMatch(/ArrayBuffers' floor [+-]\d+\.\d+ MiB\/min \(\d+ → \d+ MiB\)/);
    // the state objects ran in their own wrangler dev, and the events reached them there
    expect(row("mixed load: workerd memory slope")?.value).toMatch(/state objects' workerd \(UserState, Trending, served by a second wrangler dev\) [+-]\d+\.\d+ MiB\/min \(\d+ → \d+ MiB\) while the objects' SQLite files grew \d+ → [1-9]\d* MiB/);
    // the isolate's whole memory: heap and ArrayBuffers through the inspector, the wasm memories from /health
    expect(row("mixed load: isolate memory slope")?.value).toMatch(/^[+-]\d+\.\d+ ± \d+\.\d+ \(s\.e\.\) MiB\/min \(\d+\.\d → \d+\.\d MiB; /);
    expect(row("mixed load: isolate memory slope")?.value).toMatch(/wasm memories \(onnxruntime-web, the ANN runtime\) [+-]\d+\.\d+ MiB\/min \([1-9]\d*\.\d → [1-9]\d*\.\d MiB/);
    expect(row("model swaps: answers naming a half-published version")?.value).toMatch(/^0 \(2 activated; refused on \/health: 2 of 2\)$/);
  }, 240_000);
});
