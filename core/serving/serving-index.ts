import { compareNewestFirst } from "../data/dataset";
import { ENGAGED_BITS, LABEL_BIT } from "../features/engagement";
import { topK } from "../util/top-k";
import type { BundleTables } from "./bundle-tables";

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
  /** Users who engaged an author, by their last engagement with the author: most recent last, ties by user row. */
  readonly authorUsers: Adjacency;
  /** Authors a user engaged (distinct, in order of first engagement). */
  readonly userAuthors: Adjacency;
  readonly trending: { readonly items: Int32Array; readonly scores: Float32Array };
}

export const TRENDING_HALF_LIFE_MS = 6 * 3_600_000;

/** Reads only the catalogue, the histories and their instant, so it can be built (and timed) without models. */
export type ServingIndexSources = Pick<BundleTables, "items" | "histories" | "asOfMs">;

export function buildServingIndex(tables: ServingIndexSources, options: { trendingSize?: number } = {}): ServingIndex {
  const { items, histories } = tables;
  const authorCount = items.authors.size;

  // author -> media, newest first (media of unknown age last), ties by row
  const byAuthor = Array.from({ length: authorCount }, () => [] as number[]);
  for (let item = 0; item < items.ids.size; item++) (byAuthor[items.author[item] as number] as number[]).push(item);
  for (const list of byAuthor) list.sort((a, b) => compareNewestFirst(items.createdAt[a] as number, items.createdAt[b] as number) || a - b);
  const authorMedia = fromLists(byAuthor);

  // engagement graph from the training histories: one (author, engager) pair per distinct author a user engaged,
  // numbered in user-row order and, within a user, in order of first engagement, with the user's last engagement
  // with that author. Typed arrays rather than a Set and a list per user: the Worker builds this on every bundle decode.
  const userCount = histories.offsets.length - 1;
  const userPairs = new Int32Array(userCount + 1);
  const pairAuthor = new Int32Array(histories.item.length);
  const pairUser = new Int32Array(histories.item.length);
  const pairLastMs = new Float64Array(histories.item.length);
  const latestPairOfAuthor = new Int32Array(authorCount).fill(-1);
  let pairCount = 0;
  const trending = new Float64Array(items.ids.size);
  const decay = Math.LN2 / TRENDING_HALF_LIFE_MS;
  const asOfMs = tables.asOfMs;
  for (let user = 0; user < userCount; user++) {
    const firstPairOfUser = pairCount;
    userPairs[user] = firstPairOfUser;
    for (let e = histories.offsets[user] as number; e < (histories.offsets[user + 1] as number); e++) {
      const labels = histories.labels[e] as number;
      const item = histories.item[e] as number;
      const ts = histories.ts[e] as number;
      if (labels & LABEL_BIT.click) trending[item] = (trending[item] as number) + Math.exp(-decay * Math.max(0, asOfMs - ts));
      if (!(labels & ENGAGED_BITS)) continue;
      const author = items.author[item] as number;
      const pair = latestPairOfAuthor[author] as number;
      if (pair >= firstPairOfUser) {
        // histories are oldest first, but that is the writer's promise: keep the latest time whatever the order
        if (ts > (pairLastMs[pair] as number)) pairLastMs[pair] = ts;
        continue;
      }
      latestPairOfAuthor[author] = pairCount;
      pairAuthor[pairCount] = author;
      pairUser[pairCount] = user;
      pairLastMs[pairCount] = ts;
      pairCount += 1;
    }
  }
  userPairs[userCount] = pairCount;
  const trendingItems = topK(trending, options.trendingSize ?? 500);
  return {
    authorMedia,
    authorUsers: engagersByRecency(pairAuthor.subarray(0, pairCount), pairUser, pairLastMs, authorCount),
    userAuthors: { offsets: userPairs, values: pairAuthor.slice(0, pairCount) },
    trending: { items: trendingItems, scores: Float32Array.from(trendingItems, (item) => trending[item] as number) },
  };
}

/**
 * Each author's engagers ordered by their last engagement with the author, most recent last (the graph sources take
 * the last N as the most recent engagers), ties by user row. A counting sort groups the pairs by author; only each
 * author's own few engagers are then sorted by time.
 */
function engagersByRecency(pairAuthor: Int32Array, pairUser: Int32Array, pairLastMs: Float64Array, authorCount: number): Adjacency {
  const offsets = new Int32Array(authorCount + 1);
  for (let pair = 0; pair < pairAuthor.length; pair++) offsets[(pairAuthor[pair] as number) + 1] = (offsets[(pairAuthor[pair] as number) + 1] as number) + 1;
  for (let author = 0; author < authorCount; author++) offsets[author + 1] = (offsets[author + 1] as number) + (offsets[author] as number);
  const cursor = offsets.slice(0, authorCount);
  const pairs = new Int32Array(pairAuthor.length);
  for (let pair = 0; pair < pairAuthor.length; pair++) {
    const author = pairAuthor[pair] as number;
    pairs[cursor[author] as number] = pair;
    cursor[author] = (cursor[author] as number) + 1;
  }
  // pairs are numbered in user-row order, so the pair number breaks ties by user row
  const byLastEngagement = (a: number, b: number) => (pairLastMs[a] as number) - (pairLastMs[b] as number) || a - b;
  for (let author = 0; author < authorCount; author++) {
    const start = offsets[author] as number;
    const end = offsets[author + 1] as number;
    if (end - start > 1) pairs.subarray(start, end).sort(byLastEngagement);
  }
  return { offsets, values: pairs.map((pair) => pairUser[pair] as number) };
}

function fromLists(lists: readonly (readonly number[])[]): Adjacency {
  const offsets = new Int32Array(lists.length + 1);
  lists.forEach((list, i) => (offsets[i + 1] = (offsets[i] as number) + list.length));
  const values = new Int32Array(offsets[lists.length] as number);
  lists.forEach((list, i) => values.set(list, offsets[i] as number));
  return { offsets, values };
}
