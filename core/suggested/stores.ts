import { isKnown } from "../data/dataset";
import { LABELS } from "../data/labels";
import { LABEL_BIT, type Engagement } from "../features/engagement";
import type { ServingConfig } from "../funnel/config";
import { logPriors } from "../funnel/stages/prior";
import { mtmlProbabilities, valueScores } from "../funnel/stages/second-stage";
import type { FeedUser, Ranker } from "../funnel/types";
import type { QueryStores, ScoredId, Surface } from "../query/stores";
import { priorNeedsAffinity, suggestedLogValue } from "../ranking/value-model";
import { historyOf } from "../serving/assets";
import { embedUser } from "../serving/ranker-models";
import { rowDots } from "../util/typed-arrays";
import { neighboursOf } from "../serving/serving-index";
import { SUGGESTED_EMBEDDING_CONFIGS, SUGGESTED_RANKING_MODELS } from "./config";
import { SuggestedIndex } from "./suggested-index";
import { SEED_ENGAGED_BITS, UserEngagementLog } from "./user-log";

const HOUR_MS = 3_600_000;

/** The query id of a user the bundle does not know (real-time state only): ids of known users are their bundle rows. */
export const UNKNOWN_USER_ID = -1;

export interface SuggestedStoresOptions {
  /** The user, merged from the bundle and real-time state (`resolveFeedUser`). */
  readonly user: FeedUser;
  /** The user's real-time engagements (after the bundle's window), in time order: the engagement ports read them after the bundle history. */
  readonly realtimeEngagements: readonly Engagement[];
  /** "Now": posted_media's age and the MTML's time features count from it. */
  readonly nowMs: number;
  readonly config: ServingConfig;
  /** Items the caller leaves out (already on screen): treated as seen. */
  readonly exclude?: ReadonlySet<number>;
  /** Real-time trending (item rows, best first), merged over the bundle's own trending list. */
  readonly trending?: { readonly items: Int32Array; readonly scores: Float32Array };
}

/**
 * The query language's ports over the serving stores, for one user and one request: the user's engagements
 * (bundle history + real-time events), account embeddings (`account_nn`), the USearch index over item embeddings
 * (`media_nn`), the bundle's co-occurrence, popular and trending lists, each author's media and the engagement
 * graph (two-hop), integrity, the seen set and follows, and `rank` through the MTML and a value model.
 *
 * Ids are bundle rows: accounts are author rows, media item rows, and the user is their user row
 * (`UNKNOWN_USER_ID` for a user the bundle does not know). The stores answer for their own user only.
 */
export class SuggestedStores implements QueryStores {
  /** The id queries run with (`QueryContext.userId`). */
  readonly userId: number;
  private readonly log: UserEngagementLog;
  private readonly index: SuggestedIndex;
  private readonly seen: ReadonlySet<number>;
  private readonly probabilities = new Map<number, Float32Array>();
  private embedding: Promise<Float32Array | undefined> | undefined;

  constructor(
    private readonly ranker: Ranker,
    private readonly options: SuggestedStoresOptions,
  ) {
    const { assets } = ranker;
    const { user } = options;
    this.userId = user.row ?? UNKNOWN_USER_ID;
    const history = user.row === undefined ? [] : historyOf(assets.histories, user.row);
    this.log = new UserEngagementLog([...history, ...options.realtimeEngagements], assets.items.author, options.config.suggested.homeSurfaces);
    this.index = SuggestedIndex.of(ranker);
    const exclude = options.exclude;
    this.seen = exclude && exclude.size > 0 ? new Set([...user.seen, ...exclude]) : user.seen;
  }

  /** The surface suggestions are scored for: they are shown at the end of Home. */
  get surface(): number {
    return this.options.config.suggested.homeSurfaces[0] as number;
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
    const size = this.ranker.assets.items.ids.size;
    media.forEach((item, i) => {
      if (!Number.isInteger(item) || item < 0 || item >= size) throw new RangeError(`${what}: media ${item} at position ${i} is not an item row in [0, ${size})`);
    });
  }

  private checkAccounts(what: string, accounts: readonly number[]): void {
    const size = this.ranker.assets.items.authors.size;
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
    return accounts.map((account) => this.index.accountNeighbours(account, k));
  }

  /** Nearest items in the retrieval embedding space, from the USearch index; score = inner product (1 − distance). */
  mediaNeighbours(media: readonly number[], k: number, embeddingConfig: string): ScoredId[][] {
    this.checkEmbeddingConfig("media_nn", embeddingConfig);
    this.checkCount("mediaNeighbours", k);
    this.checkItems("mediaNeighbours", media);
    const ann = this.ranker.models.retrievalIndex;
    if (!ann) throw new Error("the ANN index is unavailable");
    const { assets } = this.ranker;
    const dim = assets.manifest.models.retrieval.dim;
    return media.map((item) => {
      if (k === 0) return [];
      const found = ann.search(assets.retrievalItemEmbeddings.subarray(item * dim, (item + 1) * dim), Math.min(k, assets.items.ids.size));
      return Array.from(found.keys, (key, i) => ({ id: key, score: 1 - (found.distances[i] as number) }));
    });
  }

  cooccurredMedia(media: readonly number[], k: number): ScoredId[][] {
    this.checkCount("cooccurredMedia", k);
    this.checkItems("cooccurredMedia", media);
    const { offsets, items, scores } = this.ranker.assets.cooccurrence;
    return media.map((item) => {
      const start = offsets[item] as number;
      const end = Math.min(offsets[item + 1] as number, start + k);
      const list: ScoredId[] = [];
      for (let i = start; i < end; i++) list.push({ id: items[i] as number, score: scores[i] as number });
      return list;
    });
  }

  /**
   * Each account's media, newest first, never media created after "now"; with `maxAgeHours`, only media younger
   * than that (media of unknown age never pass an age limit). Score = freshness 1 / (1 + age in hours).
   */
  postedMedia(accounts: readonly number[], maxPerAccount: number, maxAgeHours: number | undefined): ScoredId[][] {
    this.checkCount("postedMedia", maxPerAccount);
    this.checkAccounts("postedMedia", accounts);
    const { createdAt } = this.ranker.assets.items;
    const { nowMs } = this.options;
    return accounts.map((account) => {
      const list: ScoredId[] = [];
      for (const item of neighboursOf(this.ranker.index.authorMedia, account)) {
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
    return accounts.map((account) => this.index.twoHop(account, max, this.userId));
  }

  popularMedia(userId: number, n: number): ScoredId[] {
    this.checkUser(userId);
    this.checkCount("popularMedia", n);
    const { items, scores } = this.ranker.assets.popular;
    return Array.from(items.subarray(0, n), (id, i) => ({ id, score: scores[i] as number }));
  }

  /** The bundle's trending list and the real-time one, each normalised by its top score, summed. */
  trendingMedia(userId: number, n: number): ScoredId[] {
    this.checkUser(userId);
    this.checkCount("trendingMedia", n);
    const board = new Map<number, number>();
    const lists = [this.ranker.index.trending, ...(this.options.trending ? [this.options.trending] : [])];
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
    const { author } = this.ranker.assets.items;
    return Int32Array.from(media, (item) => author[item] as number);
  }

  integrityScores(media: readonly number[]): Float32Array {
    this.checkItems("integrityScores", media);
    const { integrity } = this.ranker.assets.items;
    return Float32Array.from(media, (item) => integrity[item] as number);
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
   * Scores the items with the MTML (as the Explore second stage computes its probabilities, on the Home surface)
   * and a value model: "default" is Suggested Posts' log-linear P(like)^w · (1 − P(hate))^w · … · exposure^α in
   * log space, "explore" is Explore's Σ w·P times its prior (exposure only: a query's items carry no source or affinity). Keeps the probabilities for the response.
   */
  async rank(userId: number, media: readonly number[], model: string): Promise<Float64Array> {
    this.checkUser(userId);
    this.checkItems("rank", media);
    if (!(SUGGESTED_RANKING_MODELS as readonly string[]).includes(model)) throw new Error(`unknown ranking model ${model} (known: ${SUGGESTED_RANKING_MODELS.join(", ")})`);
    if (media.length === 0) return new Float64Array(0);
    const mtml = this.ranker.models.mtml;
    if (!mtml) throw new Error("the MTML model is unavailable");
    const { assets } = this.ranker;
    const { config, nowMs, user } = this.options;
    const probabilities = await mtmlProbabilities(assets, { mtml, mtmlOneUser: this.ranker.models.mtmlOneUser }, user.context, media, this.surface, nowMs);
    const width = LABELS.length;
    media.forEach((item, r) => this.probabilities.set(item, probabilities.slice(r * width, (r + 1) * width)));
    // a query's items come from no Explore source: Explore's prior reads exposure and affinity, not a retrieval score
    const needsAffinity = model === "explore" ? priorNeedsAffinity(config.valueModel) : config.suggestedValueModel.retrievalExponent !== 0;
    const embedding = needsAffinity ? await this.retrievalEmbedding() : undefined;
    if (model === "explore") return valueScores(config.valueModel, probabilities, logPriors(assets, config.valueModel, media, new Float64Array(media.length), embedding));
    const affinities = this.affinities(media, embedding);
    return Float64Array.from(media, (item, r) => suggestedLogValue(config.suggestedValueModel, probabilities, r, assets.relativeExposure(item), affinities[r] as number));
  }

  /** The user's retrieval two-tower embedding, computed on first use (undefined without the model). */
  retrievalEmbedding(): Promise<Float32Array | undefined> {
    const tower = this.ranker.models.retrievalUserTower;
    this.embedding ??= tower ? embedUser(tower, this.ranker.assets, this.options.user.context) : Promise.resolve(undefined);
    return this.embedding;
  }

  /** (cos − 1)/τ of each item with the user's retrieval embedding; zeros without one. */
  affinities(media: readonly number[], embedding: Float32Array | undefined): Float64Array {
    if (!embedding) return new Float64Array(media.length);
    const { assets } = this.ranker;
    const { dim, temperature } = assets.manifest.models.retrieval;
    return rowDots(assets.retrievalItemEmbeddings, dim, embedding, media).map((cos) => (cos - 1) / temperature);
  }

  private checkEmbeddingConfig(operator: string, name: string): void {
    if (!(SUGGESTED_EMBEDDING_CONFIGS as readonly string[]).includes(name)) throw new Error(`${operator}: unknown embedding_config ${name} (known: ${SUGGESTED_EMBEDDING_CONFIGS.join(", ")})`);
  }
}
