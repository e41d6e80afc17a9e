// runMtmlForOneUser sends a feed's batch to the one-user variant only when every row carries row 0's user side,
// so a batch that mixes users still gets the per-row model's (correct) answer.
import { describe, expect, it } from "vitest";
import { LABELS } from "../../../core/data/labels";
import { CONTEXT_CATEGORICAL_SLOTS, type MtmlInputs } from "../../../core/features/mtml-features";
import type { ModelSession } from "../../../core/inference/types";
import { rowsShareUser, runMtmlForOneUser } from "../../../core/serving/model-runs";

const SLOTS = CONTEXT_CATEGORICAL_SLOTS.length + 3;

function batch(size: number): MtmlInputs {
  const categorical = new Int32Array(size * SLOTS);
  for (let r = 0; r < size; r++) for (let s = 0; s < SLOTS; s++) categorical[r * SLOTS + s] = s < CONTEXT_CATEGORICAL_SLOTS.length ? r + s : 100 + s;
  return { size, user: new Int32Array(size).fill(4), item: Int32Array.from({ length: size }, (_, r) => r), author: new Int32Array(size), categorical, tags: new Int32Array(size), dense: new Float32Array(size) };
}

function fakeSession(name: string, calls: string[]): ModelSession {
  const run = async (feeds: Record<string, unknown>) => {
    calls.push(name);
    const size = (feeds.item as { data: Int32Array }).data.length;
    return { probabilities: new Float32Array(size * LABELS.length).fill(name === "one-user" ? 0.25 : 0.5) };
  };
  return {
    runtimeName: "fake",
    inputs: ["item", "categorical", "user"].map((name) => ({ name, type: "int32" as const, dims: name === "categorical" ? ["batch", SLOTS] : ["batch"] })),
    outputs: [{ name: "probabilities", type: "float32", dims: ["batch", LABELS.length] }],
    run,
    runWithShapes: async () => ({}),
    release: async () => {},
  };
}

describe("runMtmlForOneUser", () => {
  it("runs the one-user variant when the rows share the user's id and slots, the per-row model otherwise", async () => {
    const calls: string[] = [];
    const sessions = { mtml: fakeSession("per-row", calls), mtmlOneUser: fakeSession("one-user", calls) };
    const same = batch(5);
    expect(rowsShareUser(same)).toBe(true);
    expect((await runMtmlForOneUser(sessions, same))[0]).toBe(0.25);

    const otherId = { ...same, user: same.user.map((u, r) => (r === 3 ? u + 1 : u)) };
    const otherSlot = { ...same, categorical: same.categorical.map((id, i) => (i === 2 * SLOTS + SLOTS - 1 ? id + 1 : id)) };
    const otherContext = { ...same, categorical: same.categorical.map((id, i) => (i === 2 * SLOTS ? id + 7 : id)) };
    expect([rowsShareUser(otherId), rowsShareUser(otherSlot), rowsShareUser(otherContext)]).toEqual([false, false, true]);
    await runMtmlForOneUser(sessions, otherId);
    await runMtmlForOneUser(sessions, otherSlot);
    await runMtmlForOneUser(sessions, otherContext);
    expect(calls).toEqual(["one-user", "per-row", "per-row", "one-user"]);
  });

  it("runs the per-row model when the bundle has no one-user variant", async () => {
    const calls: string[] = [];
    expect((await runMtmlForOneUser({ mtml: fakeSession("per-row", calls) }, batch(3)))[0]).toBe(0.5);
    expect(calls).toEqual(["per-row"]);
  });
});
