import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AuthorWindow } from "../../../core/funnel/author-window";
import { fillByAuthorRules } from "../../../core/funnel/stages/rerank";

interface Entry {
  readonly id: number;
  readonly author: number;
}

const authorOf = (entry: Entry) => entry.author;

/** The author rules as they were before feed sessions: a cap per page, adjacency within the page. */
function perPageFill(ordered: readonly Entry[], maxPerAuthor: number, noAdjacentSameAuthor: boolean, count: number): Entry[] {
  const page: Entry[] = [];
  const perAuthor = new Map<number, number>();
  const remaining = [...ordered];
  while (page.length < count) {
    const previous = page.at(-1)?.author;
    const pick = remaining.findIndex((entry) => (perAuthor.get(entry.author) ?? 0) < maxPerAuthor && !(noAdjacentSameAuthor && entry.author === previous));
    if (pick === -1) break;
    const [chosen] = remaining.splice(pick, 1) as [Entry];
    perAuthor.set(chosen.author, (perAuthor.get(chosen.author) ?? 0) + 1);
    page.push(chosen);
  }
  return page;
}

/** Pages of `count` filled one after another from what the earlier pages left, each continuing the session. */
function session(pool: readonly Entry[], rules: { maxPerAuthor: number; noAdjacentSameAuthor: boolean }, count: number, pages: number): Entry[][] {
  const served: Entry[] = [];
  const result: Entry[][] = [];
  for (let p = 0; p < pages; p++) {
    const taken = new Set(served.map((entry) => entry.id));
    const { page } = fillByAuthorRules(pool.filter((entry) => !taken.has(entry.id)), authorOf, rules, count, { preceding: served.map(authorOf) });
    served.push(...page);
    result.push(page);
  }
  return result;
}

const pools = fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 0, maxLength: 120 }).map((authors) => authors.map((author, id) => ({ id, author })));
const rulesOf = fc.record({ maxPerAuthor: fc.integer({ min: 1, max: 4 }), noAdjacentSameAuthor: fc.boolean() });

describe("the author rules across the pages of a session", () => {
  it("fill a first page exactly as the per-page rules did", () => {
    fc.assert(
      fc.property(pools, rulesOf, fc.integer({ min: 1, max: 40 }), (pool, rules, count) => {
        const { page } = fillByAuthorRules(pool, authorOf, rules, count);
        expect(page).toEqual(perPageFill(pool, rules.maxPerAuthor, rules.noAdjacentSameAuthor, count));
      }),
    );
  });

  it("hold over every page-sized stretch of the session, and at every page boundary", () => {
    fc.assert(
      fc.property(pools, rulesOf, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 2, max: 6 }), (pool, rules, count, pages) => {
        const scroll = session(pool, rules, count, pages).flat();
        expect(new Set(scroll.map((entry) => entry.id)).size).toBe(scroll.length);
        for (let end = 1; end <= scroll.length; end++) {
          const counts = new Map<number, number>();
          for (const entry of scroll.slice(Math.max(0, end - count), end)) counts.set(entry.author, (counts.get(entry.author) ?? 0) + 1);
          for (const n of counts.values()) expect(n).toBeLessThanOrEqual(rules.maxPerAuthor);
          if (rules.noAdjacentSameAuthor && end >= 2) expect(scroll[end - 1]?.author).not.toBe(scroll[end - 2]?.author);
        }
      }),
    );
  });

  it("only the last count − 1 preceding items matter", () => {
    fc.assert(
      fc.property(pools, fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 40 }), rulesOf, fc.integer({ min: 1, max: 12 }), (pool, preceding, rules, count) => {
        const all = fillByAuthorRules(pool, authorOf, rules, count, { preceding }).page;
        const last = fillByAuthorRules(pool, authorOf, rules, count, { preceding: preceding.slice(-Math.max(1, count - 1)) }).page;
        expect(all).toEqual(last);
      }),
    );
  });

  it("keeps an author at the cap at the end of one page off the start of the next, until the stretch moves past", () => {
    // pages of 4, max 2 per author: page 1 ended with author 1 at two of its last three positions, so page 2 cannot open
    // with author 1 (that stretch of four would hold three); it comes back once the stretch has moved past the first one
    const pool = [1, 1, 1, 2, 3, 4, 5].map((author, id) => ({ id, author }));
    const { page } = fillByAuthorRules(pool, authorOf, { maxPerAuthor: 2, noAdjacentSameAuthor: true }, 4, { preceding: [7, 8, 1, 9, 1] });
    expect(page.map(authorOf)).toEqual([2, 1, 3, 1]);
    // and the first item of a page never has the previous page's last author
    const next = fillByAuthorRules([{ id: 0, author: 5 }, { id: 1, author: 6 }], authorOf, { maxPerAuthor: 3, noAdjacentSameAuthor: true }, 2, { preceding: [5] }).page;
    expect(next.map(authorOf)).toEqual([6, 5]);
  });

  it("AuthorWindow refuses a size below one", () => {
    expect(() => new AuthorWindow(0, 2)).toThrow(RangeError);
  });
});
