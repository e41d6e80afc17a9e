import { describe, expect, it } from "vitest";
import { createThrottledLog } from "../../../core/util/throttled-log";

describe("the log of recurring failures", () => {
  it("writes a kind at most once per interval, then says how many it left out", () => {
    const lines: string[] = [];
    let now = 0;
    const log = createThrottledLog((line) => lines.push(line), () => now, 10_000);
    expect(log("trending", "trending down", new Error("threw (injected fault)"))).toBe(true);
    now = 1_000;
    expect(log("trending", "trending down", new Error("again"))).toBe(false);
    expect(log("trending", "trending down")).toBe(false);
    // another kind is not held back by the first
    expect(log("user_state", "state down", "timeout")).toBe(true);
    now = 10_000;
    expect(log("trending", "trending down", new Error("still"))).toBe(true);
    expect(lines).toEqual(["trending down: threw (injected fault)", "state down: timeout", "trending down: still (and 2 more like it in the last 10 s)"]);
  });

  it("logs errors by message, never as an object with a stack", () => {
    const lines: string[] = [];
    const log = createThrottledLog((line) => lines.push(line), () => 0);
    log("a", "failed", new TypeError("bad thing"));
    log("b", "failed", { code: 7 });
    expect(lines).toEqual(["failed: bad thing", 'failed: {"code":7}']);
  });

  it("keeps a bounded table of kinds", () => {
    const lines: string[] = [];
    const log = createThrottledLog((line) => lines.push(line), () => 0);
    for (let i = 0; i < 1_000; i++) log(`kind-${i}`, `m${i}`);
    // the oldest kinds were forgotten, so they log again at once; the newest are still held back
    expect(log("kind-0", "again")).toBe(true);
    expect(log("kind-999", "again")).toBe(false);
  });
});
