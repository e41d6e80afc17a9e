// The realistic traffic mix the benchmarks drive: every user can come, active ones more, plus fresh ids.
import { describe, expect, it } from "vitest";
import { IdIndex } from "../../../core/data/ids";
import type { BundleTables } from "../../../core/serving/bundle-tables";
import { describeTraffic, realisticUserIds } from "../../../scripts/bench/traffic";

/** Four users with 0, 0, 9 and 99 training interactions: weights 1, 1, 10, 100. */
function tables(): Pick<BundleTables, "users" | "histories"> {
  return {
    users: { ids: IdIndex.from(["a", "b", "c", "d"]) } as BundleTables["users"],
    histories: { offsets: Int32Array.from([0, 0, 0, 9, 108]) } as BundleTables["histories"],
  };
}

describe("realisticUserIds", () => {
  it("draws users in proportion to 1 + their interactions, with the asked share of new ids", () => {
    const ids = realisticUserIds(tables(), { requests: 56_000, newUserShare: 0.1, seed: 3 });
    const count = (id: string) => ids.filter((x) => x === id).length;
    const fresh = ids.filter((id) => id.startsWith("mix-new-"));
    expect(fresh.length / ids.length).toBeCloseTo(0.1, 1.5);
    expect(new Set(fresh).size).toBe(fresh.length);
    const known = ids.length - fresh.length;
    // expected shares 1/112, 1/112, 10/112, 100/112
    expect(count("d") / known).toBeCloseTo(100 / 112, 1.5);
    expect(count("c") / known).toBeCloseTo(10 / 112, 1.5);
    expect(count("a")).toBeGreaterThan(200);
    expect(count("b")).toBeGreaterThan(200);
  });

  it("is deterministic per seed and differs across seeds", () => {
    const options = { requests: 1_000, newUserShare: 0.2, seed: 9 };
    expect(realisticUserIds(tables(), options)).toEqual(realisticUserIds(tables(), options));
    expect(realisticUserIds(tables(), { ...options, seed: 10 })).not.toEqual(realisticUserIds(tables(), options));
  });

  it("refuses a share of new ids outside [0, 1) and a bundle without users", () => {
    expect(() => realisticUserIds(tables(), { requests: 10, newUserShare: 1, seed: 1 })).toThrow(/newUserShare/);
    const empty = { users: { ids: IdIndex.from([]) } as BundleTables["users"], histories: { offsets: Int32Array.from([0]) } as BundleTables["histories"] };
    expect(() => realisticUserIds(empty, { requests: 10, newUserShare: 0, seed: 1 })).toThrow(/no users/);
  });

  it("describes a list: distinct ids and the busiest 1%'s share", () => {
    const ids = [...Array.from({ length: 99 }, (_, i) => `u${i}`), ...Array.from({ length: 101 }, () => "hot")];
    expect(describeTraffic(ids)).toEqual({ requests: 200, distinct: 100, top1PercentShare: 101 / 200 });
  });
});
