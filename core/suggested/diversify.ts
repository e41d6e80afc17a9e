import type { SuggestionSource } from "../config/suggested";
import { AuthorWindow } from "../funnel/author-window";

/** A ranked suggestion as diversification sees it. */
export interface SeededItem {
  readonly item: number;
  readonly author: number;
  /** The ranking score, the seed type's boost included. */
  readonly score: number;
  /** The seed account's row; undefined for the popular candidates, each of which is a group of its own. */
  readonly seedId: number | undefined;
  readonly seedType: SuggestionSource;
}

export interface RoundRobinOptions {
  readonly count: number;
  readonly maxPerSeed: number;
  readonly maxPerAuthor: number;
  /** The authors of the items the feed session served before this page, oldest first (see AuthorWindow). */
  readonly precedingAuthors?: readonly number[];
  /**
   * A rule of the page (Home's media-type mix, say): an item it refuses is passed over like one over its author's
   * cap; when the groups run out before `count`, the refused items fill the page in the order they were refused.
   */
  readonly admits?: (entry: SeededItem, page: readonly SeededItem[]) => boolean;
}

/**
 * Round robin by seed: `ranked` is best first; its items are grouped by seed (a seed of one type, H, R or F; each
 * popular candidate is a group of its own), the groups ordered by their best item, and every round takes each
 * group's next item in that order. So with the seed types' boosts (`suggested.typeBoost`) high enough, every round
 * starts with the H seeds, then R, then F, then popular; with equal boosts the groups interleave by score. A group
 * gives at most `maxPerSeed` items, an author at most `maxPerAuthor` (an item over its author's cap is skipped and
 * its group offers its next one). Stops at `count`. On a later page of a session the author cap holds over every
 * `count` consecutive items of the session (AuthorWindow); the seed cap is the page's own.
 */
export function roundRobinBySeed(ranked: readonly SeededItem[], options: RoundRobinOptions): SeededItem[] {
  const authors = new AuthorWindow(Math.max(1, options.count), options.maxPerAuthor, options.precedingAuthors);
  const groups = new Map<string, SeededItem[]>();
  for (const entry of ranked) {
    const key = entry.seedId === undefined ? `item:${entry.item}` : `${entry.seedType}:${entry.seedId}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(entry);
  }
  // Map iteration follows insertion, i.e. each group's best item: the groups' order for every round
  const ordered = [...groups.values()];
  const cursors = ordered.map(() => 0);
  const taken = ordered.map(() => 0);
  const page: SeededItem[] = [];
  const refused: { entry: SeededItem; group: number }[] = [];
  let progressed = true;
  while (page.length < options.count && progressed) {
    progressed = false;
    for (let g = 0; g < ordered.length && page.length < options.count; g++) {
      const group = ordered[g] as SeededItem[];
      if ((taken[g] as number) >= options.maxPerSeed) continue;
      while ((cursors[g] as number) < group.length) {
        const entry = group[cursors[g] as number] as SeededItem;
        cursors[g] = (cursors[g] as number) + 1;
        if (!authors.allows(entry.author)) continue;
        if (options.admits && !options.admits(entry, page)) {
          refused.push({ entry, group: g });
          continue;
        }
        authors.push(entry.author);
        taken[g] = (taken[g] as number) + 1;
        page.push(entry);
        progressed = true;
        break;
      }
    }
  }
  for (const { entry, group } of refused) {
    if (page.length >= options.count) break;
    if ((taken[group] as number) >= options.maxPerSeed || !authors.allows(entry.author)) continue;
    authors.push(entry.author);
    taken[group] = (taken[group] as number) + 1;
    page.push(entry);
  }
  return page;
}
