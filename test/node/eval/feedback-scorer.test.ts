import { describe, expect, it } from "vitest";
import type { EventTable } from "../../../core/data/dataset";
import { evaluateImpressions } from "../../../core/eval/protocols";
import { FEEDBACK_DELAY_MS, FeedbackCalibratedScorer } from "../../../core/eval/systems/feedback-scorer";
import type { PairBatch, PairScorer } from "../../../core/eval/types";
import { Rng } from "../../../models/autodiff";

const HOUR = 3_600_000;
const START = Date.UTC(2022, 4, 4);

/** 40 hours of impressions, 500 an hour; clicks happen at `rate(row)`. */
function testTable(rate: (row: number) => number, seed = 1): EventTable {
  const size = 40 * 500;
  const rng = new Rng(seed);
  const click = Uint8Array.from({ length: size }, (_, row) => (rng.uniform() < rate(row) ? 1 : 0));
  return {
    size,
    user: Int32Array.from({ length: size }, (_, row) => row % 97),
    item: Int32Array.from({ length: size }, (_, row) => row % 31),
    ts: Float64Array.from({ length: size }, (_, row) => START + Math.floor(row / 500) * HOUR + (row % 500) * 7_000),
    surface: new Int32Array(size),
    labels: { click },
  };
}

/** A model that predicts a click probability of 0.3 for every item whose id is even, 0.5 otherwise. */
const model: PairScorer = {
  name: "model",
  probabilities: true,
  score: (batch: PairBatch) => ({ click: Float32Array.from(batch.item, (item) => (item % 2 === 0 ? 0.3 : 0.5)) }),
};

async function scoreAll(scorer: PairScorer, test: EventTable, batchSize = 1000): Promise<Float32Array> {
  const out = new Float32Array(test.size);
  for (let start = 0; start < test.size; start += batchSize) {
    const end = Math.min(test.size, start + batchSize);
    const batch = { size: end - start, user: test.user.subarray(start, end), item: test.item.subarray(start, end), surface: test.surface.subarray(start, end), atMs: test.ts.subarray(start, end) };
    out.set((await scorer.score(batch)).click as Float32Array, start);
  }
  return out;
}

describe("FeedbackCalibratedScorer", () => {
  // the model is 0.15 too low everywhere: the truth is 0.45 and 0.65
  const truth = (test: EventTable) => (row: number) => ((test.item[row] as number) % 2 === 0 ? 0.45 : 0.65);

  it("passes the model's probabilities through until enough outcomes are in, then corrects them from the past hours", async () => {
    const shape = testTable(() => 0);
    const test = testTable(truth(shape));
    const scores = await scoreAll(new FeedbackCalibratedScorer(model, test, ["click"]), test);
    // the first hours: under 2,000 closed impressions, nothing applied
    expect(scores[0]).toBeCloseTo(0.3, 6);
    expect(scores[4 * 500]).toBeCloseTo(0.3, 6);
    // a day later the map has learned the truth
    const late = test.size - 2;
    expect(scores[late]).toBeCloseTo((test.item[late] as number) % 2 === 0 ? 0.45 : 0.65, 1);
  });

  it("never reads an outcome that was not in yet: changing the later outcomes leaves every earlier score as it was", async () => {
    const shape = testTable(() => 0);
    const cut = 20 * 500 + 250; // half past the hour: its outcome is in half past the next
    const test = testTable(truth(shape));
    const poisoned: EventTable = { ...test, labels: { click: (test.labels.click as Uint8Array).map((y, row) => (row >= cut ? 1 - y : y)) } };
    const honest = await scoreAll(new FeedbackCalibratedScorer(model, test, ["click"]), test);
    const fromPoisoned = await scoreAll(new FeedbackCalibratedScorer(model, poisoned, ["click"]), poisoned);
    // an outcome counts from an hour after its impression: every score before that is unchanged
    const lastUnaffected = test.ts.findIndex((ts) => ts >= (test.ts[cut] as number) + FEEDBACK_DELAY_MS);
    expect(Array.from(fromPoisoned.subarray(0, lastUnaffected))).toEqual(Array.from(honest.subarray(0, lastUnaffected)));
    expect(Array.from(fromPoisoned.subarray(lastUnaffected))).not.toEqual(Array.from(honest.subarray(lastUnaffected)));
  });

  it("lowers the calibration error that the evaluation measures, and insists on the test table's order", async () => {
    const shape = testTable(() => 0);
    const test = testTable(truth(shape));
    const raw = await evaluateImpressions(model, test, ["click"]);
    const corrected = await evaluateImpressions(new FeedbackCalibratedScorer(model, test, ["click"]), test, ["click"]);
    expect(raw.click?.calibration?.ece).toBeGreaterThan(0.1);
    expect(corrected.click?.calibration?.ece).toBeLessThan(0.05);
    const scorer = new FeedbackCalibratedScorer(model, test, ["click"]);
    const second = { size: 10, user: test.user.subarray(10, 20), item: test.item.subarray(10, 20), surface: test.surface.subarray(10, 20), atMs: test.ts.subarray(10, 20) };
    await expect(Promise.resolve().then(() => scorer.score(second))).rejects.toThrow(/in the test table's order/);
  });
});
