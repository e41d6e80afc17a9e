import { compareNewestFirst } from "../data/dataset";
import { ENGAGED_BITS, LABEL_BIT } from "../features/engagement";
import { topK } from "../util/top-k";
import type { RankerAssets } from "./ranker-assets";

/** A CSR adjacency list: the neighbours of row r are values[offsets[r] .. offsets[r+1]). */
export interface Adjacency {
  readonly offsets: Int32Array;
  readonly values: Int32Array;
}

export function neighboursOf(adjacency: Adjacency, row: number): Int32Array {
  return adjacency.values.subarray(adjacency.offsets[row] ?? 0, adjacency.offsets[row + 1] ?? 0);
}

/**
 * Structures serving derives from a bundle once per version: each author's media (newest first), the
 * engagement graph between users and authors (for one-hop and two-hop exploration), and the trending list
 * as of the bundle's end, which the real-time trending counts refine.
 */
export interface ServingIndex {
  readonly authorMedia: Adjacency;
  /** Users who engaged an author (most recent engagement last). */
  readonly authorUsers: Adjacency;
  /** Authors a user engaged (distinct, in order of first engagement). */
  readonly userAuthors: Adjacency;
  readonly trending: { readonly items: Int32Array; readonly scores: Float32Array };
}

export const TRENDING_HALF_LIFE_MS = 6 * 3_600_000;

export function buildServingIndex(assets: RankerAssets, options: { trendingSize?: number } = {}): ServingIndex {
  const { items, histories } = assets;
  const authorCount = items.authors.size;

  // author -> media, newest first (media of unknown age last), ties by row
  const byAuthor = Array.from({ length: authorCount }, () => [] as number[]);
  for (let item = 0; item < items.ids.size; item++) (byAuthor[items.author[item] as number] as number[]).push(item);
  for (const list of byAuthor) list.sort((a, b) => compareNewestFirst(items.createdAt[a] as number, items.createdAt[b] as number) || a - b);
  const authorMedia = fromLists(byAuthor);

  // engagement graph from the training histories
  const userCount = histories.offsets.length - 1;
  const authorUsers = Array.from({ length: authorCount }, () => [] as number[]);
  const userAuthors: number[][] = [];
  const trending = new Float64Array(items.ids.size);
  const decay = Math.LN2 / TRENDING_HALF_LIFE_MS;
  for (let user = 0; user < userCount; user++) {
    const authors: number[] = [];
    const seen = new Set<number>();
    for (let e = histories.offsets[user] as number; e < (histories.offsets[user + 1] as number); e++) {
      const labels = histories.labels[e] as number;
      const item = histories.item[e] as number;
      if (labels & LABEL_BIT.click) trending[item] = (trending[item] as number) + Math.exp(-decay * Math.max(0, assets.asOfMs - (histories.ts[e] as number)));
      if (!(labels & ENGAGED_BITS)) continue;
      const author = items.author[item] as number;
      if (seen.has(author)) continue;
      seen.add(author);
      authors.push(author);
      (authorUsers[author] as number[]).push(user);
    }
    userAuthors.push(authors);
  }
  const trendingItems = topK(trending, options.trendingSize ?? 500);
  return {
    authorMedia,
    authorUsers: fromLists(authorUsers),
    userAuthors: fromLists(userAuthors),
    trending: { items: trendingItems, scores: Float32Array.from(trendingItems, (item) => trending[item] as number) },
  };
}

function fromLists(lists: readonly (readonly number[])[]): Adjacency {
  const offsets = new Int32Array(lists.length + 1);
  lists.forEach((list, i) => (offsets[i + 1] = (offsets[i] as number) + list.length));
  const values = new Int32Array(offsets[lists.length] as number);
  lists.forEach((list, i) => values.set(list, offsets[i] as number));
  return { offsets, values };
}
