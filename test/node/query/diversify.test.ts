import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InMemoryQueryStores, runQuery } from "../../../core/query";
import { ALICE, FIXTURE_GRAPH, fixtureStores, frozenClock } from "./fixture-graph";

describe("diversify_by round robin", () => {
  it("interleaves authors in the order of their best-ranked item, then caps per author", async () => {
    // Ranked: 210 (author 21) .95, 200 (20) .8, 110 (11) .6, 100 (10) .5, 101 (10) .4, 211 (21) .35.
    const query = "media([100, 101, 110, 200, 210, 211]).let(author=author_id).rank().diversify_by(author)";
    const result = await runQuery(query, fixtureStores(), { userId: ALICE }, { clock: frozenClock });
    expect(result.candidates.map((c) => c.id)).toEqual([210, 200, 110, 100, 211, 101]);
    const capped = await runQuery(query.replace("diversify_by(author)", "diversify_by(author, max_per_value=1)"), fixtureStores(), { userId: ALICE }, { clock: frozenClock });
    expect(capped.candidates.map((c) => c.id)).toEqual([210, 200, 110, 100]);
  });

  it("keeps 1 and \"1\" apart as attribute values", async () => {
    const query = 'media([100, 101]).let(g=1).limit(1).let(h="x").diversify_by(g)';
    const result = await runQuery(query, fixtureStores(), { userId: ALICE }, { clock: frozenClock });
    expect(result.candidates.map((c) => c.attributes)).toEqual([{ g: 1, h: "x" }]);
  });

  it("is a permutation that takes the r-th item of every group before any group's (r+1)-th (property)", async () => {
    const items = fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 10_000 }), author: fc.integer({ min: 1, max: 5 }) }), {
      minLength: 1,
      maxLength: 40,
      selector: (item) => item.id,
    });
    await fc.assert(
      fc.asyncProperty(items, async (list) => {
        const stores = new InMemoryQueryStores({ ...FIXTURE_GRAPH, events: [], media: list.map((item) => ({ ...item, createdAtMs: 0 })) });
        const query = `media([${list.map((item) => item.id).join(", ")}]).let(author=author_id).diversify_by(author)`;
        const output = (await runQuery(query, stores, { userId: ALICE }, { clock: frozenClock })).candidates;
        expect(output.map((c) => c.id).sort((a, b) => a - b)).toEqual(list.map((item) => item.id).sort((a, b) => a - b));
        // Rank of each item within its group, in input order.
        const rankInGroup = new Map<number, number>();
        const seen = new Map<number, number>();
        const groupOrder: number[] = [];
        for (const item of list) {
          const r = seen.get(item.author) ?? 0;
          if (r === 0) groupOrder.push(item.author);
          rankInGroup.set(item.id, r);
          seen.set(item.author, r + 1);
        }
        const rounds = output.map((c) => rankInGroup.get(c.id) as number);
        expect(rounds).toEqual([...rounds].sort((a, b) => a - b));
        // Within a round, groups appear in the order of their first item.
        const firstRound = output.filter((c) => rankInGroup.get(c.id) === 0).map((c) => c.attributes["author"]);
        expect(firstRound).toEqual(groupOrder);
      }),
      { numRuns: 150 },
    );
  });
});
