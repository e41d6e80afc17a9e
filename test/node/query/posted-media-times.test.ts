import { describe, expect, it } from "vitest";
import { UNKNOWN } from "../../../core/data";
import { InMemoryQueryStores } from "../../../core/query";
import { FIXTURE_GRAPH, HOUR, NOW } from "./fixture-graph";

describe("posted_media over creation times of any kind", () => {
  const AUTHOR = 77;
  const stores = new InMemoryQueryStores({
    ...FIXTURE_GRAPH,
    events: [],
    media: [
      { id: 1, author: AUTHOR, createdAtMs: UNKNOWN },
      { id: 2, author: AUTHOR, createdAtMs: Date.UTC(1955, 0, 1) },
      { id: 3, author: AUTHOR, createdAtMs: NOW - 2 * HOUR },
      { id: 4, author: AUTHOR, createdAtMs: -1 },
      { id: 5, author: AUTHOR, createdAtMs: NOW + HOUR },
    ],
  });

  it("lists media newest first, before 1970 included, unknown age last with score 0, never from the future", () => {
    const [posted] = stores.postedMedia([AUTHOR], 10, undefined) as { id: number; score: number }[][];
    expect(posted?.map((entry) => entry.id)).toEqual([3, 4, 2, 1]);
    expect(posted?.[0]?.score).toBeCloseTo(1 / 3, 12);
    expect(posted?.[3]?.score).toBe(0);
  });

  it("lets no media of unknown age through an age limit", () => {
    const [young] = stores.postedMedia([AUTHOR], 10, 24) as { id: number; score: number }[][];
    expect(young?.map((entry) => entry.id)).toEqual([3]);
  });
});
