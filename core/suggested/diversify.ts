import type { SeedType } from "./config";

/** A ranked suggestion as diversification sees it. */
export interface SeededItem {
  readonly item: number;
  readonly author: number;
  readonly score: number;
  /** The seed account's row. */
  readonly seedId: number;
  readonly seedType: SeedType;
}

export interface RoundRobinOptions {
  readonly count: number;
  readonly maxPerSeed: number;
  readonly maxPerAuthor: number;
  /** Authors already on the page (counted against maxPerAuthor). */
  readonly authorCounts?: Map<number, number>;
}

const TYPE_ORDER: readonly SeedType[] = ["H", "R", "F"];

/**
 * Merge H >> R >> F, round robin by seed within each type: `ranked` is best first; H items come first, as a round
 * robin over the H seeds (seeds in the order of their best item; each round takes every seed's next item), then R
 * the same way, then F. A seed gives at most `maxPerSeed` items, an author at most `maxPerAuthor` (an item over its
 * author's cap is skipped and its seed offers its next one). Stops at `count`.
 */
export function roundRobinBySeed(ranked: readonly SeededItem[], options: RoundRobinOptions): SeededItem[] {
  const perAuthor = options.authorCounts ?? new Map<number, number>();
  const page: SeededItem[] = [];
  for (const type of TYPE_ORDER) {
    const groups = new Map<number, SeededItem[]>();
    for (const entry of ranked) {
      if (entry.seedType !== type) continue;
      let group = groups.get(entry.seedId);
      if (!group) groups.set(entry.seedId, (group = []));
      group.push(entry);
    }
    // Map iteration follows insertion, i.e. each seed's best item: the seeds' order for every round
    const ordered = [...groups.values()];
    const cursors = ordered.map(() => 0);
    const taken = ordered.map(() => 0);
    let progressed = true;
    while (page.length < options.count && progressed) {
      progressed = false;
      for (let g = 0; g < ordered.length && page.length < options.count; g++) {
        const group = ordered[g] as SeededItem[];
        if ((taken[g] as number) >= options.maxPerSeed) continue;
        while ((cursors[g] as number) < group.length) {
          const entry = group[cursors[g] as number] as SeededItem;
          cursors[g] = (cursors[g] as number) + 1;
          if ((perAuthor.get(entry.author) ?? 0) >= options.maxPerAuthor) continue;
          perAuthor.set(entry.author, (perAuthor.get(entry.author) ?? 0) + 1);
          taken[g] = (taken[g] as number) + 1;
          page.push(entry);
          progressed = true;
          break;
        }
      }
    }
  }
  return page;
}
