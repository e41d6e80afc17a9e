import { compareNewestFirst, isKnown } from "../data/dataset";
import type { QueryStores, ScoredId, Surface } from "./stores";

/**
 * A small social graph held in plain objects, for tests, demos and the Worker's smoke tests.
 * Graph-derived ports (liked/engaged accounts, co-occurrence, two-hop, nearest neighbours) are
 * computed from the events and embeddings exactly as documented on each method, so expected
 * results can be worked out by hand.
 */
export interface InMemoryGraph {
  /** "Now" in ms since the epoch: `postedMedia`'s max age counts back from it. */
  readonly nowMs: number;
  /** `createdAtMs` is negative before 1970, and UNKNOWN (NaN) when the creation time is not known. */
  readonly media: readonly { readonly id: number; readonly author: number; readonly createdAtMs: number; readonly integrity?: number }[];
  /** Interactions; every event is an engagement, `liked` ones are likes too. */
  readonly events: readonly { readonly user: number; readonly media: number; readonly ts: number; readonly surface: "home" | "other"; readonly liked?: boolean }[];
  readonly follows: readonly { readonly user: number; readonly account: number; readonly ts: number }[];
  /** Vectors by embedding config name, then by account id. */
  readonly accountEmbeddings?: Readonly<Record<string, Readonly<Record<number, readonly number[]>>>>;
  /** Vectors by embedding config name, then by media id. */
  readonly mediaEmbeddings?: Readonly<Record<string, Readonly<Record<number, readonly number[]>>>>;
  readonly popular?: readonly ScoredId[];
  readonly trending?: readonly ScoredId[];
  /** Media already shown, by user. */
  readonly seen?: Readonly<Record<number, readonly number[]>>;
  /** Users' vectors in the media embedding space `default` (`userNeighbours` searches the media embeddings with them). */
  readonly userEmbeddings?: Readonly<Record<number, readonly number[]>>;
  /** Ranking models by name: a score for (user, item). */
  readonly rankers?: Readonly<Record<string, (userId: number, mediaId: number) => number>>;
}

type Event = InMemoryGraph["events"][number];

const HOUR_MS = 3_600_000;

/** Best first: higher score, then more recent, then lower id. */
function rankBy(entries: Iterable<{ id: number; score: number; latest: number }>, max: number): ScoredId[] {
  return [...entries]
    .sort((a, b) => b.latest - a.latest || b.score - a.score || a.id - b.id)
    .slice(0, max)
    .map(({ id, score }) => ({ id, score }));
}

function byScore(entries: Iterable<ScoredId>, max: number): ScoredId[] {
  return [...entries].sort((a, b) => b.score - a.score || a.id - b.id).slice(0, max);
}

export class InMemoryQueryStores implements QueryStores {
  /** Port names in call order, so tests can see what a query asked for. */
  readonly calls: string[] = [];
  private readonly authorOf = new Map<number, number>();
  private readonly mediaById = new Map<number, InMemoryGraph["media"][number]>();

  constructor(private readonly graph: InMemoryGraph) {
    for (const item of graph.media) {
      if (this.mediaById.has(item.id)) throw new Error(`media ${item.id} is listed twice`);
      this.mediaById.set(item.id, item);
      this.authorOf.set(item.id, item.author);
    }
    for (const event of graph.events) {
      if (!this.mediaById.has(event.media)) throw new Error(`an event of user ${event.user} refers to unknown media ${event.media}`);
    }
  }

  private author(media: number): number {
    const author = this.authorOf.get(media);
    if (author === undefined) throw new Error(`unknown media ${media}`);
    return author;
  }

  private eventsOf(userId: number, surface: Surface, likedOnly: boolean): Event[] {
    return this.graph.events.filter(
      (event) => event.user === userId && (surface === "any" || event.surface === surface) && (!likedOnly || event.liked === true),
    );
  }

  /** Per author: score = number of events, latest = most recent event; ordered most recent first. */
  private authorsOfEvents(events: readonly Event[], max: number): ScoredId[] {
    const byAuthor = new Map<number, { id: number; score: number; latest: number }>();
    for (const event of events) {
      const id = this.author(event.media);
      const entry = byAuthor.get(id) ?? { id, score: 0, latest: -Infinity };
      entry.score++;
      entry.latest = Math.max(entry.latest, event.ts);
      byAuthor.set(id, entry);
    }
    return rankBy(byAuthor.values(), max);
  }

  /** Per item: score = number of events, latest = most recent event; ordered most recent first. */
  private mediaOfEvents(events: readonly Event[], max: number): ScoredId[] {
    const byMedia = new Map<number, { id: number; score: number; latest: number }>();
    for (const event of events) {
      const entry = byMedia.get(event.media) ?? { id: event.media, score: 0, latest: -Infinity };
      entry.score++;
      entry.latest = Math.max(entry.latest, event.ts);
      byMedia.set(event.media, entry);
    }
    return rankBy(byMedia.values(), max);
  }

  likedAccounts(userId: number, max: number): ScoredId[] {
    this.calls.push("likedAccounts");
    return this.authorsOfEvents(this.eventsOf(userId, "any", true), max);
  }

  likedMedia(userId: number, max: number): ScoredId[] {
    this.calls.push("likedMedia");
    return this.mediaOfEvents(this.eventsOf(userId, "any", true), max);
  }

  followedAccounts(userId: number, max: number): ScoredId[] {
    this.calls.push("followedAccounts");
    return rankBy(
      this.graph.follows.filter((follow) => follow.user === userId).map((follow) => ({ id: follow.account, score: 1, latest: follow.ts })),
      max,
    );
  }

  engagedAccounts(userId: number, surface: Surface, max: number): ScoredId[] {
    this.calls.push("engagedAccounts");
    return this.authorsOfEvents(this.eventsOf(userId, surface, false), max);
  }

  engagedMedia(userId: number, surface: Surface, max: number): ScoredId[] {
    this.calls.push("engagedMedia");
    return this.mediaOfEvents(this.eventsOf(userId, surface, false), max);
  }

  /** Cosine similarity, brute force; the query account itself is included (score 1), as an ANN index would. */
  accountNeighbours(accounts: readonly number[], k: number, embeddingConfig: string): ScoredId[][] {
    this.calls.push("accountNeighbours");
    return accounts.map((account) => nearest(this.embeddings(this.graph.accountEmbeddings, embeddingConfig, "account"), account, k));
  }

  mediaNeighbours(media: readonly number[], k: number, embeddingConfig: string): ScoredId[][] {
    this.calls.push("mediaNeighbours");
    return media.map((item) => nearest(this.embeddings(this.graph.mediaEmbeddings, embeddingConfig, "media"), item, k));
  }

  private embeddings(
    table: InMemoryGraph["accountEmbeddings"],
    config: string,
    what: string,
  ): Readonly<Record<number, readonly number[]>> {
    const vectors = table?.[config];
    if (!vectors) throw new Error(`no ${what} embeddings for config ${config}`);
    return vectors;
  }

  /** Other items engaged with by the users who engaged with the item; score = number of such users. */
  cooccurredMedia(media: readonly number[], k: number): ScoredId[][] {
    this.calls.push("cooccurredMedia");
    return media.map((item) => {
      const users = new Set(this.graph.events.filter((event) => event.media === item).map((event) => event.user));
      const counts = new Map<number, Set<number>>();
      for (const event of this.graph.events) {
        if (event.media === item || !users.has(event.user)) continue;
        const set = counts.get(event.media) ?? new Set<number>();
        set.add(event.user);
        counts.set(event.media, set);
      }
      return byScore([...counts].map(([id, set]) => ({ id, score: set.size })), k);
    });
  }

  /**
   * Newest first, never media created after "now"; score = freshness 1 / (1 + age in hours). As in the serving stores,
   * media of unknown age (NaN) come last with score 0 and never pass an age limit.
   */
  postedMedia(accounts: readonly number[], maxPerAccount: number, maxAgeHours: number | undefined): ScoredId[][] {
    this.calls.push("postedMedia");
    const { nowMs } = this.graph;
    const youngEnough = (createdAtMs: number) => maxAgeHours === undefined || (isKnown(createdAtMs) && nowMs - createdAtMs < maxAgeHours * HOUR_MS);
    return accounts.map((account) =>
      this.graph.media
        .filter((item) => item.author === account && !(item.createdAtMs > nowMs) && youngEnough(item.createdAtMs))
        .sort((a, b) => compareNewestFirst(a.createdAtMs, b.createdAtMs) || a.id - b.id)
        .slice(0, maxPerAccount)
        .map((item) => ({ id: item.id, score: isKnown(item.createdAtMs) ? 1 / (1 + (nowMs - item.createdAtMs) / HOUR_MS) : 0 })),
    );
  }

  /** Authors engaged with by users who engaged with the account's media; score = number of such users. */
  twoHopAccounts(accounts: readonly number[], max: number): ScoredId[][] {
    this.calls.push("twoHopAccounts");
    return accounts.map((account) => {
      const users = new Set(this.graph.events.filter((event) => this.author(event.media) === account).map((event) => event.user));
      const counts = new Map<number, Set<number>>();
      for (const event of this.graph.events) {
        const author = this.author(event.media);
        if (author === account || !users.has(event.user)) continue;
        const set = counts.get(author) ?? new Set<number>();
        set.add(event.user);
        counts.set(author, set);
      }
      return byScore([...counts].map(([id, set]) => ({ id, score: set.size })), max);
    });
  }

  /** Cosine similarity of the user's vector with every media vector of the `default` config; empty without a vector. */
  userNeighbours(userId: number, n: number): ScoredId[] {
    this.calls.push("userNeighbours");
    const target = this.graph.userEmbeddings?.[userId];
    if (!target) return [];
    const media = this.embeddings(this.graph.mediaEmbeddings, "default", "media");
    return byScore(Object.entries(media).map(([key, vector]) => ({ id: Number(key), score: cosine(target, vector) })), n);
  }

  /** followWeight per followed author, plus one per engagement and one more per like on the author's media; best first. */
  authorAffinity(userId: number, max: number, followWeight: number): ScoredId[] {
    this.calls.push("authorAffinity");
    const affinity = new Map<number, number>();
    for (const follow of this.graph.follows) if (follow.user === userId) affinity.set(follow.account, followWeight);
    for (const event of this.eventsOf(userId, "any", false)) {
      const author = this.author(event.media);
      affinity.set(author, (affinity.get(author) ?? 0) + (event.liked ? 2 : 1));
    }
    return byScore([...affinity].map(([id, score]) => ({ id, score })), max);
  }

  followedOrLikedAccounts(userId: number, max: number): ScoredId[] {
    this.calls.push("followedOrLikedAccounts");
    const followed = rankBy(this.graph.follows.filter((follow) => follow.user === userId).map((follow) => ({ id: follow.account, score: 1, latest: follow.ts })), Number.MAX_SAFE_INTEGER);
    const known = new Set(followed.map((entry) => entry.id));
    const liked = this.authorsOfEvents(this.eventsOf(userId, "any", true), Number.MAX_SAFE_INTEGER).filter((entry) => !known.has(entry.id));
    return [...followed, ...liked.map(({ id }) => ({ id, score: 1 }))].slice(0, max);
  }

  popularMedia(_userId: number, n: number): ScoredId[] {
    this.calls.push("popularMedia");
    return (this.graph.popular ?? []).slice(0, n);
  }

  trendingMedia(_userId: number, n: number): ScoredId[] {
    this.calls.push("trendingMedia");
    return (this.graph.trending ?? []).slice(0, n);
  }

  authorsOf(media: readonly number[]): number[] {
    this.calls.push("authorsOf");
    return media.map((item) => this.author(item));
  }

  integrityScores(media: readonly number[]): number[] {
    this.calls.push("integrityScores");
    return media.map((item) => {
      const found = this.mediaById.get(item);
      if (!found) throw new Error(`unknown media ${item}`);
      return found.integrity ?? 1;
    });
  }

  seenMedia(userId: number): ReadonlySet<number> {
    this.calls.push("seenMedia");
    return new Set(this.graph.seen?.[userId] ?? []);
  }

  followedAuthors(userId: number): ReadonlySet<number> {
    this.calls.push("followedAuthors");
    return new Set(this.graph.follows.filter((follow) => follow.user === userId).map((follow) => follow.account));
  }

  rank(userId: number, media: readonly number[], model: string): number[] {
    this.calls.push("rank");
    const ranker = this.graph.rankers?.[model];
    if (!ranker) throw new Error(`unknown ranking model ${model}`);
    return media.map((item) => ranker(userId, item));
  }
}

function nearest(vectors: Readonly<Record<number, readonly number[]>>, query: number, k: number): ScoredId[] {
  const target = vectors[query];
  if (!target) return [];
  const scored: ScoredId[] = [];
  for (const [key, vector] of Object.entries(vectors)) scored.push({ id: Number(key), score: cosine(target, vector) });
  return byScore(scored, k);
}

function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`embedding dimensions differ: ${a.length} vs ${b.length}`);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}
