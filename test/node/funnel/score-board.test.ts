import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ScoreBoard } from "../../../core/funnel/sources/source";

describe("ScoreBoard", () => {
  it("sums or keeps the maximum per item and returns the best quota, ties by the lower item", () => {
    const board = new ScoreBoard();
    board.add(7, 1);
    board.add(3, 0.5);
    board.add(3, 0.5);
    board.add(9, 0.2, "max");
    board.add(9, 0.9, "max");
    board.add(9, 0.4, "max");
    board.add(1, 0.25);
    board.delete(1);
    expect(board.best(10)).toEqual({ items: [3, 7, 9], scores: [1, 1, 0.9] });
    expect(board.best(2)).toEqual({ items: [3, 7], scores: [1, 1] });
    expect(board.best(0)).toEqual({ items: [], scores: [] });
  });

  it("orders like a full sort by score, then item, on random boards", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: -4, max: 4 })), { maxLength: 120 }), fc.integer({ min: 0, max: 60 }), (adds, quota) => {
        const board = new ScoreBoard();
        const expected = new Map<number, number>();
        for (const [item, score] of adds) {
          board.add(item, score / 4);
          expected.set(item, (expected.get(item) ?? 0) + score / 4);
        }
        const sorted = [...expected].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, quota);
        expect(board.best(quota)).toEqual({ items: sorted.map(([item]) => item), scores: sorted.map(([, score]) => score) });
      }),
    );
  });
});
