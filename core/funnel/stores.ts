import { scoredNeighbours, searchTwoTower } from "../ann/two-tower-search";
import { isKnown } from "../data/dataset";
import { withLiveNeighbours } from "../live-items/search";
import { LABELS } from "../data/labels";
import { LABEL_BIT } from "../features/engagement";
import { AUTHOR_SLOTS } from "../features/user-activity";
import type { QueryStores, ScoredId, Surface } from "../query/stores";
import { priorNeedsAffinity, suggestedLogValue } from "../ranking/value-model";
import { historyOf } from "../serving/assets";
import { GraphIndex } from "../serving/graph-index";
import { neighboursOf } from "../serving/serving-index";
import { SUGGESTED_EMBEDDING_CONFIGS, SUGGESTED_RANKING_MODELS } from "../config/suggested";
import { SEED_ENGAGED_BITS, UserEngagementLog } from "./user-log";
import { rowDots } from "../util/typed-arrays";
import type { ServingConfig } from "../config/serving";
import type { FeedRequest } from "./types";
import type { ServingBundle } from "../serving/serving-bundle";
import { logPriors, mtmlProbabilities, valueScores } from "./scoring";

const HOUR_MS = 3_600_000;

const SHARED_PORTS: ReadonlySet<string> = new Set(["popularMedia", "integrityScores", "authorsOf"]);

/** The query id of a user the bundle does not know (real-time state only): ids of known users are their bundle rows. */
export const UNKNOWN_USER_ID = -1;


/**
 * The query language's ports over one bundle, for one user and one request — what every source of Explore and
 * Suggested Posts reads: the user's engagements (bundle history + real-time events) and author affinities, the
 * two-tower's user embedding and the USearch index over item embeddings (`user_nn`, `media_nn`), account
 * embeddings (`account_nn`), the bundle's co-occurrence, popular and trending lists, each author's media and the
 * engagement graph (two-hop), integrity, the seen set and follows, and `rank` through the MTML and a value model.
 *
 * Ids are bundle rows: accounts are author rows, media item rows, and the user is their user row
 * (`UNKNOWN_USER_ID` for a user the bundle does not know). The stores answer for their own user only.
 */
export class BundleStores implements QueryStores {
  /** The id queries run with (`QueryContext.userId`). */
  readonly userId: number;
  private readonly log: UserEngagementLog;
  private readonly graph: GraphIndex;
  private readonly seen: ReadonlySet<number>;
  private readonly probabilities = new Map<number, Float32Array>();
  /** What a store could only half answer (an item shard left out): the feed reports these as `degraded`. */
  readonly problems: string[] = [];
  /** Each answering item shard's own search time, ms, for Server-Timing. */
  readonly itemShardMs: number[] = [];

  constructor(
    private readonly serving: ServingBundle,
    private readonly options: FeedRequest,
    /** The user's retrieval two-tower embedding, computed once for the request (undefined without the model). */
    readonly retrievalEmbedding: Float32Array | undefined,
  ) {
    const { tables } = serving;
    const { user } = options;
    this.userId = user.row ?? UNKNOWN_USER_ID;
    const history = user.row === undefined ? [] : historyOf(tables.histories, user.row);
    this.log = new UserEngagementLog([...history, ...user.realtimeEngagements], tables.items.author, options.config.suggested.homeSurfaces);
    this.graph = GraphIndex.of(tables, serving.index);
    const exclude = options.exclude;
    this.seen = exclude && exclude.size > 0 ? new Set([...user.seen, ...exclude]) : user.seen;
  }

  /** The MTML's per-label probabilities (LABELS order) of an item this request ranked. */
  probabilitiesOf(item: number): Float32Array | undefined {
    return this.probabilities.get(item);
  }

  private checkUser(userId: number): void {
    if (userId !== this.userId) throw new Error(`these stores answer for user ${this.userId}, not ${userId}`);
  }

  private checkCount(what: string, n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what}: expected a non-negative integer count, got ${n}`);
  }

  private checkItems(what: string, media: readonly number[]): void {
    const size = this.serving.tables.items.ids.size;
    media.forEach((item, i) => {
      if (!Number.isInteger(item) || item < 0 || item >= size) throw new RangeError(`${what}: media ${item} at position ${i} is not an item row in [0, ${size})`);
    });
  }

  private checkAccounts(what: string, accounts: readonly number[]): void {
    const size = this.serving.tables.items.authors.size;
    accounts.forEach((account, i) => {
      if (!Number.isInteger(account) || account < 0 || account >= size) throw new RangeError(`${what}: account ${account} at position ${i} is not an author row in [0, ${size})`);
    });
  }

  likedAccounts(userId: number, max: number): ScoredId[] {
    this.checkUser(userId);
    return this.log.accounts("any", LABEL_BIT.like, max);
  }

  likedMedia(userId: number, max: number): ScoredId[] {
    this.checkUser(userId);
    return this.log.media("any", LABEL_BIT.like, max);
  }

  /** Follows from the engagement log (most recent first), then real-time follows the log does not date. */
  followedAccounts(userId: number, max: number): ScoredId[] {
    this.checkUser(userId);
    const dated = this.log.followed(Number.MAX_SAFE_INTEGER);
    const known = new Set(dated.map((entry) => entry.id));
    const undated = [...this.options.user.followedAuthors].filter((author) => !known.has(author)).sort((a, b) => a - b);
    return [...dated, ...undated.map((id) => ({ id, score: 1 }))].slice(0, max);
  }

  engagedAccounts(userId: number, surface: Surface, max: number): ScoredId[] {
    this.checkUser(userId);
    return this.log.accounts(surface, SEED_ENGAGED_BITS, max);
  }

  engagedMedia(userId: number, surface: Surface, max: number): ScoredId[] {
    this.checkUser(userId);
    return this.log.media(surface, SEED_ENGAGED_BITS, max);
  }

  accountNeighbours(accounts: readonly number[], k: number, embeddingConfig: string): (readonly ScoredId[])[] {
    this.checkEmbeddingConfig("account_nn", embeddingConfig);
    this.checkCount("accountNeighbours", k);
    this.checkAccounts("accountNeighbours", accounts);
    return accounts.map((account) => this.graph.accountNeighbours(account, k));
  }

  /** Nearest items in the retrieval embedding space, from the USearch index; score = inner product (1 − distance). */
  mediaNeighbours(media: readonly number[], k: number, embeddingConfig: string): (readonly ScoredId[])[] {
    this.checkEmbeddingConfig("media_nn", embeddingConfig);
    this.checkCount("mediaNeighbours", k);
    this.checkItems("mediaNeighbours", media);
    const ann = this.serving.models.retrievalIndex;
    if (!ann) throw new Error("the ANN index is unavailable");
    const { tables } = this.serving;
    const dim = tables.manifest.models.retrieval.dim;
    return media.map((item) =>
      k === 0
        ? []
        : this.graph.itemList("media_nn", item, k, () => {
            const query = tables.retrievalItemEmbeddings.subarray(item * dim, (item + 1) * dim);
            return withLiveNeighbours(scoredNeighbours(ann.search(query, Math.min(k, tables.items.ids.size))), this.serving.liveIndex, query, k);
          }),
    );
  }

  cooccurredMedia(media: readonly number[], k: number): (readonly ScoredId[])[] {
    this.checkCount("cooccurredMedia", k);
    this.checkItems("cooccurredMedia", media);
    const { offsets, items, scores } = this.serving.tables.cooccurrence;
    return media.map((item) =>
      this.graph.itemList("cooccurred", item, k, () => {
        const start = offsets[item] as number;
        const end = Math.min(offsets[item + 1] as number, start + k);
        const list: ScoredId[] = [];
        for (let i = start; i < end; i++) list.push({ id: items[i] as number, score: scores[i] as number });
        return list;
      }),
    );
  }

  /**
   * Each account's media, newest first, never media created after "now"; with `maxAgeHours`, only media younger
   * than that (media of unknown age never pass an age limit). Score = freshness 1 / (1 + age in hours).
   */
  postedMedia(accounts: readonly number[], maxPerAccount: number, maxAgeHours: number | undefined): ScoredId[][] {
    this.checkCount("postedMedia", maxPerAccount);
    this.checkAccounts("postedMedia", accounts);
    const { createdAt } = this.serving.tables.items;
    const { nowMs } = this.options;
    return accounts.map((account) => {
      const list: ScoredId[] = [];
      for (const item of neighboursOf(this.serving.index.authorMedia, account)) {
        if (list.length >= maxPerAccount) break;
        const created = createdAt[item] as number;
        // Negative times are real (before 1970); only UNKNOWN (NaN) has no age.
        const known = isKnown(created);
        if (known && created > nowMs) continue;
        const ageHours = known ? (nowMs - created) / HOUR_MS : Infinity;
        if (maxAgeHours !== undefined && !(ageHours < maxAgeHours)) continue;
        list.push({ id: item, score: known ? 1 / (1 + ageHours) : 0 });
      }
      return list;
    });
  }

  twoHopAccounts(accounts: readonly number[], max: number): ScoredId[][] {
    this.checkCount("twoHopAccounts", max);
    this.checkAccounts("twoHopAccounts", accounts);
    return accounts.map((account) => this.graph.twoHop(account, max, this.userId));
  }

  /**
   * The two-tower's nearest items to the user's embedding (`searchTwoTower`); score = inner product (1 − distance).
   * With item shards (`FeedRequest.itemIndex`) the shards are searched instead, and a shard left out is reported.
   */
  userNeighbours(userId: number, n: number): ScoredId[] | Promise<ScoredId[]> {
    this.checkUser(userId);
    this.checkCount("userNeighbours", n);
    const embedding = this.retrievalEmbedding;
    if (!embedding) throw new Error("no retrieval user embedding (the user tower is unavailable)");
    const remote = this.options.itemIndex;
    if (remote) {
      if (n === 0) return [];
      return remote.search(embedding, n).then((result) => {
        this.problems.push(...result.problems);
        this.itemShardMs.push(...result.shardMs.filter((ms) => !Number.isNaN(ms)));
        return [...withLiveNeighbours(result.hits, this.serving.liveIndex, embedding, n)];
      });
    }
    const ann = this.serving.models.retrievalIndex;
    if (!ann) throw new Error("the ANN index is unavailable");
    if (n === 0) return [];
    const found = searchTwoTower(ann, embedding, n, this.options.config.retrieval.exactSearchMaxItemsPerResult);
    // live items (core/live-items) sit in an index of their own beside the bundle's
    return [...withLiveNeighbours(scoredNeighbours(found), this.serving.liveIndex, embedding, n)];
  }

  /** followWeight for a followed author, plus the user's clicks, long views and 2 × likes on the author's media (the activity window's counts). */
  authorAffinity(userId: number, max: number, followWeight: number): ScoredId[] {
    this.checkUser(userId);
    this.checkCount("authorAffinity", max);
    const { user } = this.options;
    const affinity = new Map<number, number>();
    for (const author of user.followedAuthors) affinity.set(author, followWeight);
    for (const [author, stats] of user.context.activity.authors) {
      const engaged = (stats[AUTHOR_SLOTS.clicks] as number) + (stats[AUTHOR_SLOTS.longViews] as number) + 2 * (stats[AUTHOR_SLOTS.likes] as number);
      if (engaged > 0) affinity.set(author, (affinity.get(author) ?? 0) + engaged);
    }
    return [...affinity.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, max)
      .map(([id, score]) => ({ id, score }));
  }

  /**
   * The accounts the user follows (bundle and real-time), then the authors of the media they liked, most recent
   * first, each once; from the user's activity, which the request has already resolved (no pass over the log).
   */
  followedOrLikedAccounts(userId: number, max: number): ScoredId[] {
    this.checkUser(userId);
    this.checkCount("followedOrLikedAccounts", max);
    const { user } = this.options;
    const accounts = new Set(user.followedAuthors);
    const liked = user.context.activity.likedAuthors;
    for (let i = liked.length - 1; i >= 0; i--) accounts.add(liked[i] as number);
    const out: ScoredId[] = [];
    for (const id of accounts) {
      if (out.length >= max) break;
      out.push({ id, score: 1 });
    }
    return out;
  }

  popularMedia(userId: number, n: number): ScoredId[] {
    this.checkUser(userId);
    this.checkCount("popularMedia", n);
    const { items, scores } = this.serving.tables.popular;
    const list: ScoredId[] = new Array(Math.min(n, items.length));
    for (let i = 0; i < list.length; i++) list[i] = { id: items[i] as number, score: scores[i] as number };
    return list;
  }

  /** The bundle's trending list and the real-time one, each normalised by its top score, summed. */
  trendingMedia(userId: number, n: number): ScoredId[] {
    this.checkUser(userId);
    this.checkCount("trendingMedia", n);
    const board = new Map<number, number>();
    const lists = [this.serving.index.trending, ...(this.options.trending ? [this.options.trending] : [])];
    for (const list of lists) {
      const top = list.scores[0] ?? 0;
      if (!(top > 0)) continue;
      list.items.forEach((item, i) => board.set(item, (board.get(item) ?? 0) + (list.scores[i] as number) / top));
    }
    return [...board.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, n)
      .map(([id, score]) => ({ id, score }));
  }

  authorsOf(media: readonly number[]): Int32Array {
    this.checkItems("authorsOf", media);
    const { author } = this.serving.tables.items;
    const authors = new Int32Array(media.length);
    for (let i = 0; i < media.length; i++) authors[i] = author[media[i] as number] as number;
    return authors;
  }

  integrityScores(media: readonly number[]): Float32Array {
    this.checkItems("integrityScores", media);
    const { integrity } = this.serving.tables.items;
    const scores = new Float32Array(media.length);
    for (let i = 0; i < media.length; i++) scores[i] = integrity[media[i] as number] as number;
    return scores;
  }

  /** The decoded bundle these stores read: what answers shared across users are keyed by. */
  get bundle(): object {
    return this.serving.tables;
  }

  /** The bundle's popular list and its catalogue answer alike for every user. */
  sharedAcrossUsers(port: string): boolean {
    return SHARED_PORTS.has(port);
  }

  /** Everything the user was shown (bundle history and real-time), plus what the caller excludes. */
  seenMedia(userId: number): ReadonlySet<number> {
    this.checkUser(userId);
    return this.seen;
  }

  followedAuthors(userId: number): ReadonlySet<number> {
    this.checkUser(userId);
    return this.options.user.followedAuthors;
  }

  /**
   * Scores the items with the MTML (as the Explore second stage computes its probabilities, on the request's surface: Home for Suggested Posts)
   * and a value model: "default" is Suggested Posts' log-linear P(like)^w · (1 − P(hate))^w · … · exposure^α in
   * log space, "explore" is Explore's Σ w·P times its prior (exposure only: a query's items carry no source or affinity). Keeps the probabilities for the response.
   */
  async rank(userId: number, media: readonly number[], model: string): Promise<Float64Array> {
    this.checkUser(userId);
    this.checkItems("rank", media);
    if (!(SUGGESTED_RANKING_MODELS as readonly string[]).includes(model)) throw new Error(`unknown ranking model ${model} (known: ${SUGGESTED_RANKING_MODELS.join(", ")})`);
    if (media.length === 0) return new Float64Array(0);
    const mtml = this.serving.models.mtml;
    if (!mtml) throw new Error("the MTML model is unavailable");
    const { tables } = this.serving;
    const { config, nowMs, user } = this.options;
    const probabilities = await mtmlProbabilities(tables, { mtml, mtmlOneUser: this.serving.models.mtmlOneUser }, user.context, media, this.options.surface, nowMs, this.options.feedbackCalibration);
    const width = LABELS.length;
    media.forEach((item, r) => this.probabilities.set(item, probabilities.slice(r * width, (r + 1) * width)));
    // a query's items come from no Explore source: Explore's prior reads exposure and affinity, not a retrieval score
    const needsAffinity = model === "explore" ? priorNeedsAffinity(config.valueModel) : config.suggestedValueModel.retrievalExponent !== 0;
    const embedding = needsAffinity ? this.retrievalEmbedding : undefined;
    if (model === "explore") return valueScores(config.valueModel, probabilities, logPriors(tables, config.valueModel, media, new Float64Array(media.length), embedding));
    const affinities = this.affinities(media, embedding);
    return Float64Array.from(media, (item, r) => suggestedLogValue(config.suggestedValueModel, probabilities, r, tables.relativeExposure(item), affinities[r] as number));
  }


  /** (cos − 1)/τ of each item with the user's retrieval embedding; zeros without one. */
  affinities(media: readonly number[], embedding: Float32Array | undefined): Float64Array {
    if (!embedding) return new Float64Array(media.length);
    const { tables } = this.serving;
    const { dim, temperature } = tables.manifest.models.retrieval;
    return rowDots(tables.retrievalItemEmbeddings, dim, embedding, media).map((cos) => (cos - 1) / temperature);
  }

  private checkEmbeddingConfig(operator: string, name: string): void {
    if (!(SUGGESTED_EMBEDDING_CONFIGS as readonly string[]).includes(name)) throw new Error(`${operator}: unknown embedding_config ${name} (known: ${SUGGESTED_EMBEDDING_CONFIGS.join(", ")})`);
  }
}

