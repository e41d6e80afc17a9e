import { describe, expect, it } from "vitest";
import { InsufficientDataError } from "../../../core/data/errors";
import { runTsWorker } from "../../../scripts/lib/ts-worker";

const FIXTURE = new URL("./fixtures/ts-worker-fixture.ts", import.meta.url);

describe("runTsWorker", () => {
  it("runs a TypeScript module in a worker thread and returns its result and its log lines, stamped when written", async () => {
    const lines: { line: string; atMs: number }[] = [];
    const before = performance.timeOrigin + performance.now();
    const worker = runTsWorker<{ sum: number; typed: Float32Array }>(FIXTURE, { act: "sum", values: [1, 2, 3.5] }, (line, atMs) => lines.push({ line, atMs }));
    const result = await worker.result;
    expect(result.sum).toBe(6.5);
    expect(result.typed).toBeInstanceOf(Float32Array);
    expect(Array.from(result.typed)).toEqual([1, 2, 3.5]);
    expect(lines.map((entry) => entry.line)).toEqual(["summing 3 values", "done"]);
    for (const { atMs } of lines) expect(atMs).toBeGreaterThanOrEqual(before - 1);
  }, 30_000);

  it("raises a data set too small for a step as the same InsufficientDataError, which the CLIs print as one line", async () => {
    const failure = await runTsWorker(FIXTURE, { act: "insufficient" }, () => undefined).result.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InsufficientDataError);
    expect((failure as InsufficientDataError).message).toBe("a fixture step: needs at least 10 events, but the data has 3");
  }, 30_000);

  it("raises any other error with the worker's message and names the module", async () => {
    await expect(runTsWorker(FIXTURE, { act: "fail" }, () => undefined).result).rejects.toThrow(/ts-worker-fixture\.ts: the fixture failed on purpose/);
  }, 30_000);

  it("stops a worker that is still running, and its result then rejects instead of hanging", async () => {
    const worker = runTsWorker(FIXTURE, { act: "hang" }, () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await worker.stop();
    await expect(worker.result).rejects.toThrow(/exited .* without a result/);
  }, 30_000);
});
