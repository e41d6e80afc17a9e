/**
 * The ports the executor reads through. The Explore funnel implements them over the real stores
 * (per-user Durable Object state, KV lists, the ANN index, the ranking models); tests use
 * `InMemoryQueryStores`. Ids are the stores' own integer ids (rows of the item/author/user tables).
 *
 * Contracts the executor checks on every answer (a violation is a `runtime` QueryError, code
 * `port_contract`): lists hold at most the requested number of entries, ids are safe integers,
 * scores are finite, batched answers have one list (or value) per input, in input order.
 * Lists come best first; a score's meaning is the port's own (higher is better).
 */
export type Awaitable<T> = T | Promise<T>;

export interface ScoredId {
  readonly id: number;
  readonly score: number;
}

/** Where an engagement happened: Home (Suggested Posts' H seeds), any other surface (R), or anywhere. */
export type Surface = "any" | "home" | "other";
export const SURFACES: readonly Surface[] = ["any", "home", "other"];

export interface QueryStores {
  /** Authors of media the user liked, each author once, ordered by their most recent like. */
  likedAccounts(userId: number, max: number): Awaitable<readonly ScoredId[]>;
  /** Media the user liked, most recent like first. */
  likedMedia(userId: number, max: number): Awaitable<readonly ScoredId[]>;
  /** Accounts the user follows, most recent follow first. */
  followedAccounts(userId: number, max: number): Awaitable<readonly ScoredId[]>;
  /** Authors of media the user engaged with (any positive interaction) on `surface`, most recent first. */
  engagedAccounts(userId: number, surface: Surface, max: number): Awaitable<readonly ScoredId[]>;
  /** Media the user engaged with on `surface`, most recent first. */
  engagedMedia(userId: number, surface: Surface, max: number): Awaitable<readonly ScoredId[]>;
  /** For each account, its nearest accounts in the embedding space `embeddingConfig` (the account itself may appear; the executor drops it). */
  accountNeighbours(accounts: readonly number[], k: number, embeddingConfig: string): Awaitable<readonly (readonly ScoredId[])[]>;
  /** For each item, its nearest items by item embeddings. */
  mediaNeighbours(media: readonly number[], k: number, embeddingConfig: string): Awaitable<readonly (readonly ScoredId[])[]>;
  /** For each item, the items most often engaged with by the same users. */
  cooccurredMedia(media: readonly number[], k: number): Awaitable<readonly (readonly ScoredId[])[]>;
  /** For each account, its most recent media, newest first; only media younger than `maxAgeHours` when given. */
  postedMedia(accounts: readonly number[], maxPerAccount: number, maxAgeHours: number | undefined): Awaitable<readonly (readonly ScoredId[])[]>;
  /** For each account A, accounts engaged with by users who engaged with A (A itself may appear; the executor drops it). */
  twoHopAccounts(accounts: readonly number[], max: number): Awaitable<readonly (readonly ScoredId[])[]>;
  /**
   * Media nearest to the user in the retrieval two-tower's space (the user tower on the freshest features, then the
   * ANN index), best first; empty for a user the tower cannot embed.
   */
  userNeighbours(userId: number, n: number): Awaitable<readonly ScoredId[]>;
  /**
   * The user's authors by affinity, best first: `followWeight` for an author the user follows, plus their clicks,
   * long views and twice their likes on the author's media.
   */
  authorAffinity(userId: number, max: number, followWeight: number): Awaitable<readonly ScoredId[]>;
  /** Accounts the user follows, then authors of media the user liked (each once), most recent first. */
  followedOrLikedAccounts(userId: number, max: number): Awaitable<readonly ScoredId[]>;
  /** Pre-generated popular media (may depend on the user's segment). */
  popularMedia(userId: number, n: number): Awaitable<readonly ScoredId[]>;
  /** Real-time trending media. */
  trendingMedia(userId: number, n: number): Awaitable<readonly ScoredId[]>;
  /** The author of each item, in input order. */
  authorsOf(media: readonly number[]): Awaitable<ArrayLike<number>>;
  /** Integrity of each item in [0, 1]: 1 is clean; 1 − integrity is the probability it is non-recommendable. */
  integrityScores(media: readonly number[]): Awaitable<ArrayLike<number>>;
  /** Items already shown to the user. */
  seenMedia(userId: number): Awaitable<ReadonlySet<number>>;
  /** Accounts the user follows, as a set (for filtering). */
  followedAuthors(userId: number): Awaitable<ReadonlySet<number>>;
  /** One finite score per item, in input order, from the ranking model named `model`. */
  rank(userId: number, media: readonly number[], model: string): Awaitable<ArrayLike<number>>;
  /**
   * Whether a port answers alike for every user of these stores (a bundle-wide list, the catalogue), so that a
   * caller may reuse a query's result across users when every port it reads does. Absent: none does.
   */
  sharedAcrossUsers?(port: string): boolean;
}
