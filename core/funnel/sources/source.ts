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

/** Accumulates scores per item and returns the best `quota`, ties by item row for determinism. */
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
    const entries = [...this.scores.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, quota);
    return { items: entries.map(([item]) => item), scores: entries.map(([, score]) => score) };
  }
}

export function hasHistory(user: FeedUser): boolean {
  return user.context.activity.recentEngaged.length > 0;
}
