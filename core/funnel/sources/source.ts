import { topK } from "../../util/top-k";
import { gather } from "../../util/typed-arrays";
import type { SourceName } from "../config";
import type { FeedState, FeedUser } from "../types";

/** A source's candidates, best first. */
export interface SourceResult {
  readonly items: readonly number[];
  readonly scores: readonly number[];
  readonly note?: string;
}

export const EMPTY_RESULT: SourceResult = { items: [], scores: [] };

/** One retrieval source: given the feed state and its quota, the items it proposes. */
export interface CandidateSource {
  readonly name: SourceName;
  /** Whether a cold user gets this source: only those that need no engagement history do. */
  forColdUsers(user: FeedUser): boolean;
  retrieve(state: FeedState, quota: number): Promise<SourceResult> | SourceResult;
}

/** Accumulates scores per item and returns the best `quota`, ties by item row for determinism (NaN and -Infinity never come out). */
export class ScoreBoard {
  private readonly scores = new Map<number, number>();

  add(item: number, score: number, combine: "sum" | "max" = "sum"): void {
    const previous = this.scores.get(item);
    this.scores.set(item, previous === undefined ? score : combine === "sum" ? previous + score : Math.max(previous, score));
  }

  delete(item: number): void {
    this.scores.delete(item);
  }

  best(quota: number): SourceResult {
    // ascending item order first, so topK's tie rule (lower index first) breaks ties by item row
    const items = new Int32Array(this.scores.size);
    let i = 0;
    for (const item of this.scores.keys()) items[i++] = item;
    items.sort();
    const scores = new Float64Array(items.length);
    for (let j = 0; j < items.length; j++) scores[j] = this.scores.get(items[j] as number) as number;
    const best = topK(scores, quota);
    return { items: gather(items, best), scores: gather(scores, best) };
  }
}

export function hasHistory(user: FeedUser): boolean {
  return user.context.activity.recentEngaged.length > 0;
}
