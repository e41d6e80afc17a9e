import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecayedCounter, DEFAULT_DECAYED_COUNTER_OPTIONS, HOUR_MS, type DecayedCounterOptions } from "../../../core/realtime/decayed-counter";

const H = 6 * HOUR_MS;
const T0 = Date.UTC(2026, 0, 1);
const options = (overrides: Partial<DecayedCounterOptions> = {}): DecayedCounterOptions => ({ ...DEFAULT_DECAYED_COUNTER_OPTIONS, halfLifeMs: H, ...overrides });

describe("DecayedCounter decay", () => {
  it("halves a score every half-life and scales with the weight", () => {
    const counter = new DecayedCounter(options());
    counter.add("a", T0);
    counter.add("b", T0, 3);
    expect(counter.score("a", T0)).toBeCloseTo(1, 12);
    expect(counter.score("a", T0 + H)).toBeCloseTo(0.5, 12);
    expect(counter.score("a", T0 + 2 * H)).toBeCloseTo(0.25, 12);
    expect(counter.score("b", T0 + H)).toBeCloseTo(1.5, 12);
    expect(counter.score("missing", T0)).toBe(0);
  });

  it("defaults to a 6-hour half-life", () => {
    const counter = new DecayedCounter();
    counter.add("a", T0);
    expect(counter.score("a", T0 + 6 * HOUR_MS)).toBeCloseTo(0.5, 12);
  });

  it("equals the naive sum Σ w·2^(−age/h) whatever the order the events arrive in", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.constantFrom("a", "b", "c"), offset: fc.integer({ min: -40 * H, max: 40 * H }), weight: fc.double({ min: 0, max: 5, noNaN: true }) }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 10 * H }),
        (events, after) => {
          const counter = new DecayedCounter(options({ minScore: 0 }));
          for (const { key, offset, weight } of events) counter.add(key, T0 + offset, weight);
          const now = T0 + 40 * H + after;
          for (const key of ["a", "b", "c"]) {
            const naive = events.filter((e) => e.key === key).reduce((sum, e) => sum + e.weight * 2 ** (-(now - (T0 + e.offset)) / H), 0);
            expect(counter.score(key, now)).toBeCloseTo(naive, 9);
          }
        },
      ),
    );
  });

  it("rescales to a new landmark when events span more than 128 half-lives, staying finite and exact", () => {
    const counter = new DecayedCounter(options({ minScore: 0 }));
    counter.add("old", T0);
    counter.add("mid", T0 + 100 * H);
    counter.add("new", T0 + 300 * H);
    expect(counter.landmarkMs).toBe(T0 + 300 * H);
    const now = T0 + 301 * H;
    expect(counter.score("new", now)).toBeCloseTo(0.5, 12);
    expect(counter.score("mid", now) / 2 ** -201).toBeCloseTo(1, 9);
    expect(Number.isFinite(counter.score("old", now))).toBe(true);
    expect(counter.top(3, now).map((entry) => entry.key)).toEqual(["new", "mid", "old"]);
  });
});

describe("DecayedCounter top and bounds", () => {
  it("returns the n best keys with their decayed scores, best first, ties in insertion order", () => {
    const counter = new DecayedCounter(options());
    counter.add("x", T0, 2);
    counter.add("y", T0 - H, 2); // 1 at T0
    counter.add("z", T0, 4);
    counter.add("w", T0, 2);
    const top = counter.top(3, T0 + H);
    expect(top.map((entry) => entry.key)).toEqual(["z", "x", "w"]);
    expect(top.map((entry) => entry.score)).toEqual([2, 1, 1].map((score) => expect.closeTo(score, 12)));
    expect(counter.top(0, T0)).toEqual([]);
    expect(counter.top(10, T0)).toHaveLength(4);
  });

  it("leaves scores below minScore out of top, and prune drops them", () => {
    const counter = new DecayedCounter(options({ minScore: 0.2 }));
    counter.add("fresh", T0 + 2 * H);
    counter.add("stale", T0); // 0.25 at T0 + 2H, 0.125 at T0 + 3H
    expect(counter.top(10, T0 + 2 * H).map((entry) => entry.key)).toEqual(["fresh", "stale"]);
    expect(counter.top(10, T0 + 3 * H).map((entry) => entry.key)).toEqual(["fresh"]);
    expect(counter.prune(T0 + 2 * H)).toBe(0);
    expect(counter.prune(T0 + 3 * H)).toBe(1);
    expect(counter.size).toBe(1);
    expect(counter.score("stale", T0 + 3 * H)).toBe(0);
  });

  it("never tracks more than maxKeys keys and keeps the best when it compacts", () => {
    const counter = new DecayedCounter(options({ maxKeys: 100, compactToFraction: 0.9, minScore: 0 }));
    for (let i = 0; i < 10; i++) counter.add(`hot${i}`, T0, 50);
    for (let i = 0; i < 1_000; i++) {
      counter.add(`cold${i}`, T0 + i);
      expect(counter.size).toBeLessThanOrEqual(100);
    }
    const top = counter.top(10, T0 + 1_000).map((entry) => entry.key);
    expect(top.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `hot${i}`).sort());
    expect(counter.score("cold999", T0 + 1_000)).toBeGreaterThan(0); // the newest key always gets in
  });

  it("rejects bad options and inputs with a message", () => {
    expect(() => new DecayedCounter(options({ halfLifeMs: 0 }))).toThrow(/halfLifeMs/);
    expect(() => new DecayedCounter(options({ maxKeys: 1.5 }))).toThrow(/maxKeys/);
    expect(() => new DecayedCounter(options({ minScore: -1 }))).toThrow(/minScore/);
    expect(() => new DecayedCounter(options({ compactToFraction: 1 }))).toThrow(/compactToFraction/);
    const counter = new DecayedCounter(options());
    expect(() => counter.add("", T0)).toThrow(/key/);
    expect(() => counter.add("a", Number.NaN)).toThrow(/ts/);
    expect(() => counter.add("a", T0, -1)).toThrow(/weight/);
    expect(() => counter.top(-1, T0)).toThrow(/n must be/);
  });
});

describe("DecayedCounter persistence", () => {
  it("restores the same scores from its state", () => {
    const counter = new DecayedCounter(options());
    counter.add("a", T0, 2);
    counter.add("b", T0 + H);
    const restored = DecayedCounter.restore(options(), counter.state(), T0 + 2 * H);
    for (const key of ["a", "b"]) expect(restored.score(key, T0 + 2 * H)).toBeCloseTo(counter.score(key, T0 + 2 * H), 12);
    expect(restored.takeChanges().upserts).toEqual([]); // nothing to rewrite
  });

  it("carries today's scores over when the half-life changes, then decays with the new one", () => {
    const counter = new DecayedCounter(options());
    counter.add("a", T0, 4);
    const now = T0 + H; // score 2
    const restored = DecayedCounter.restore(options({ halfLifeMs: 2 * H }), counter.state(), now);
    expect(restored.score("a", now)).toBeCloseTo(2, 12);
    expect(restored.score("a", now + 2 * H)).toBeCloseTo(1, 12);
    expect(restored.takeChanges().upserts.map(([key]) => key)).toEqual(["a"]);
  });

  it("reports upserts and deletes since the last call, so a store writes only the difference", () => {
    const counter = new DecayedCounter(options({ minScore: 0.3 }));
    counter.add("a", T0);
    counter.add("b", T0 + 2 * H);
    expect(counter.takeChanges().upserts.map(([key]) => key).sort()).toEqual(["a", "b"]);
    expect(counter.takeChanges()).toMatchObject({ upserts: [], deletes: [] });
    counter.add("b", T0 + 2 * H);
    counter.prune(T0 + 2 * H); // a is at 0.25
    const changes = counter.takeChanges();
    expect(changes.deletes).toEqual(["a"]);
    expect(changes.upserts).toEqual([["b", expect.any(Number)]]);
    const replayed = DecayedCounter.restore(options({ minScore: 0.3 }), { halfLifeMs: changes.halfLifeMs, landmarkMs: changes.landmarkMs, entries: changes.upserts }, T0);
    expect(replayed.score("b", T0 + 2 * H)).toBeCloseTo(2, 12);
  });

  it("rejects corrupt stored entries", () => {
    expect(() => DecayedCounter.restore(options(), { halfLifeMs: H, landmarkMs: T0, entries: [["a", Number.NaN]] }, T0)).toThrow(/bad stored entry/);
    expect(() => DecayedCounter.restore(options(), { halfLifeMs: -1, landmarkMs: T0, entries: [] }, T0)).toThrow(/halfLifeMs/);
  });
});
