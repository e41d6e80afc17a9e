import type { EventTable, TrainingData } from "../../data/dataset";
import type { Label } from "../../data/labels";
import type { ServingConfig } from "../../config/serving";
import { NO_REALTIME_STATE } from "../../funnel/types";
import type { ServingBundle } from "../../serving/serving-bundle";
import { resolveFeedUser } from "../../funnel/user";
import { historyOf } from "../../serving/assets";
import type { SuggestionSource } from "../../config/suggested";
import { suggestPosts } from "../../suggested/suggest";
import { GraphIndex } from "../../serving/graph-index";
import { SEED_ENGAGED_BITS, UserEngagementLog } from "../../funnel/user-log";
import { recallAtK } from "../metrics";
import type { RankedItems, Recommender } from "../types";
import type { BundleRows } from "./bundle-systems";
import { homeLikeness, type HomeLikeness, type UserList } from "../home-likeness";

/** Home seeds and neighbours for `home_neighbour_fraction`: the design's "author embeddings measure the similarity to Home accounts". */
export const HOME_SEEDS = 20;
export const HOME_NEIGHBOURS = 20;
/** The labels whose test-window positives the unfollowed-recall measure counts. */
export const SUGGESTED_RECALL_LABELS = ["click", "like"] as const satisfies readonly Label[];
/** The page length of the product (the API's default count): recall is also reported at this cut. */
export const SUGGESTED_PAGE = 20;

export interface SuggestedEvalOptions {
  /** Suggestions asked for per user (the API allows 1..100). */
  readonly count: number;
  /**
   * The executor's budget per query. Offline it is raised (default 1000 ms) so that machine noise cannot turn a
   * query into a budget error and change the result; the served budget is `config.suggested.cpuBudgetMs`.
   */
  readonly cpuBudgetMs?: number;
}

interface Memo {
  /** Bundle item rows, in page order. */
  readonly items: Int32Array;
  readonly sources: readonly SuggestionSource[];
  readonly degraded: boolean;
}

/** The measures `suggestedMeasures` reports; `--json` carries them in the report's `measures` with a `suggested_` prefix. */
export interface SuggestedMeasures {
  /** Users with at least one click/like positive in the test window on an author they had not followed. */
  readonly users: number;
  /** Mean suggestions per user (the list length both systems are cut to). */
  readonly mean_list_length: number;
  /** Per label, then for click ∪ like ("engaged"): recall at the product page and at the full list, suggested vs restricted popularity. */
  readonly recall: Record<string, { users: number; suggested_at_page: number; popularity_at_page: number; suggested_at_list: number; popularity_at_list: number }>;
  /** Share of suggestions whose author is among the top-20 account neighbours of one of the user's top-20 Home seeds (users with a Home seed). */
  readonly home_neighbour_fraction: number;
  /** The same for the restricted popularity lists of the same users (for scale). */
  readonly popularity_home_neighbour_fraction: number;
  readonly home_neighbour_users: number;
  /** Share of all suggestions by seed type. */
  readonly share: Record<SuggestionSource, number>;
  /** How Home-like each list is against the user's own Home (core/eval/home-likeness.ts): the suggestions, restricted popularity and, when given, the Explore feed, for the same users. */
  readonly home_likeness: { readonly suggested: HomeLikeness; readonly popularity: HomeLikeness; readonly explore?: HomeLikeness };
  /** Users whose suggestions came back degraded (a query failing, a model missing). */
  readonly degraded_users: number;
}

/**
 * Suggested Posts run offline exactly as the Worker runs it (same core, same bundle), from the state at the end of
 * training, for the harness (`suggested`, a Recommender) and for its own measures: recall on the authors a user
 * did not follow, against decayed popularity restricted the same way, and how Home-like the suggestions are.
 */
/**
 * Per label and for click ∪ like ("engaged"), each user's test-window positives on items whose author they had not
 * followed by the end of training: what Suggested Posts' recall counts.
 */
export function unfollowedPositives(train: TrainingData, test: EventTable, followed: ReadonlyMap<number, ReadonlySet<number>> = followsByUser(train)): Map<string, Map<number, Set<number>>> {
  const author = train.items.author;
  const positives = new Map<string, Map<number, Set<number>>>();
  for (const label of [...SUGGESTED_RECALL_LABELS, "engaged"] as const) positives.set(label, new Map());
  for (const label of SUGGESTED_RECALL_LABELS) {
    const column = test.labels[label];
    if (!column) continue;
    for (let i = 0; i < test.size; i++) {
      if (!column[i]) continue;
      const user = test.user[i] as number;
      const item = test.item[i] as number;
      if (followed.get(user)?.has(author[item] as number)) continue;
      for (const key of [label, "engaged"]) {
        const byUser = positives.get(key) as Map<number, Set<number>>;
        let set = byUser.get(user);
        if (!set) byUser.set(user, (set = new Set()));
        set.add(item);
      }
    }
  }
  return positives;
}

export class SuggestedSystems {
  private readonly memo = new Map<number, Memo>();
  private readonly config: ServingConfig;

  constructor(
    private readonly rows: BundleRows,
    private readonly bundle: ServingBundle,
    config: ServingConfig,
    private readonly options: SuggestedEvalOptions,
  ) {
    if (!Number.isInteger(options.count) || options.count < 1) throw new RangeError(`suggested eval: count must be a positive integer, got ${options.count}`);
    this.config = { ...config, suggested: { ...config.suggested, cpuBudgetMs: options.cpuBudgetMs ?? 1000 } };
  }

  /** One user's suggestions (dataset user row), computed once. */
  async suggestions(user: number): Promise<Memo> {
    const cached = this.memo.get(user);
    if (cached) return cached;
    const { tables } = this.bundle;
    const bundleRow = this.rows.userToBundle[user] as number;
    const id = bundleRow >= 0 ? tables.users.ids.id(bundleRow) : `unknown-user-${user}`;
    const feed = await suggestPosts(this.bundle, {
      user: resolveFeedUser(tables, id, NO_REALTIME_STATE, this.config),
      count: this.options.count,
      exclude: new Set(),
      nowMs: tables.asOfMs,
      config: this.config,
    });
    const memo: Memo = { items: Int32Array.from(feed.items, (entry) => entry.item), sources: feed.items.map((entry) => entry.seedType), degraded: feed.degraded.length > 0 };
    this.memo.set(user, memo);
    return memo;
  }

  /** `suggested` in the full-catalogue table: the page, at most `count` long whatever the harness asks. */
  recommender(): Recommender {
    return {
      name: "suggested",
      recommend: async ({ user, count }): Promise<RankedItems> => {
        const { items } = await this.suggestions(user);
        const page = items.subarray(0, Math.min(count, items.length));
        return this.rows.toDataset(page, Float32Array.from(page, (_, i) => -i));
      },
    };
  }

  /**
   * Recall of test-window positives on items whose author the user had not followed by the end of training, for
   * the suggestions and for decayed popularity restricted the same way (no followed author, nothing seen in
   * training), each cut to the same length per user; and the Home-neighbour fraction.
   */
  async measures(train: TrainingData, test: EventTable, popularityOrder: Int32Array, exploreFeed?: (user: number) => Promise<ArrayLike<number>>): Promise<SuggestedMeasures> {
    const followed = followsByUser(train);
    const seenByUser = seenItemsByUser(train.events);
    const author = train.items.author;
    const positives = unfollowedPositives(train, test, followed);
    const users = [...(positives.get("engaged") as Map<number, Set<number>>).keys()].sort((a, b) => a - b);
    const lists = new Map<number, { suggested: Int32Array; popularity: Int32Array; sources: readonly SuggestionSource[] }>();
    let degradedUsers = 0;
    let lengthSum = 0;
    for (const user of users) {
      const memo = await this.suggestions(user);
      if (memo.degraded) degradedUsers++;
      const suggested = this.rows.toDataset(memo.items, new Float32Array(memo.items.length)).items;
      const popularity = restrictedPopularity(popularityOrder, suggested.length, followed.get(user), seenByUser.get(user), author);
      lists.set(user, { suggested, popularity, sources: memo.sources });
      lengthSum += suggested.length;
    }

    const recall: SuggestedMeasures["recall"] = {};
    for (const [label, byUser] of positives) {
      const sums = { suggested_at_page: 0, popularity_at_page: 0, suggested_at_list: 0, popularity_at_list: 0 };
      for (const [user, relevant] of byUser) {
        const { suggested, popularity } = lists.get(user) as { suggested: Int32Array; popularity: Int32Array };
        sums.suggested_at_page += recallAtK(suggested, relevant, SUGGESTED_PAGE);
        sums.popularity_at_page += recallAtK(popularity, relevant, SUGGESTED_PAGE);
        sums.suggested_at_list += recallAtK(suggested, relevant, suggested.length);
        sums.popularity_at_list += recallAtK(popularity, relevant, popularity.length);
      }
      const n = byUser.size;
      recall[label] = {
        users: n,
        suggested_at_page: n === 0 ? 0 : sums.suggested_at_page / n,
        popularity_at_page: n === 0 ? 0 : sums.popularity_at_page / n,
        suggested_at_list: n === 0 ? 0 : sums.suggested_at_list / n,
        popularity_at_list: n === 0 ? 0 : sums.popularity_at_list / n,
      };
    }

    const home = this.homeNeighbourFractions(users, lists, (item) => train.items.authors.id(author[item] as number));
    const share: Record<SuggestionSource, number> = { H: 0, R: 0, F: 0, popular: 0 };
    let total = 0;
    for (const { sources } of lists.values()) {
      for (const source of sources) share[source]++;
      total += sources.length;
    }
    for (const key of Object.keys(share) as SuggestionSource[]) share[key] = total === 0 ? 0 : share[key] / total;
    const bundleLists = async (list: (user: number) => Promise<ArrayLike<number>>): Promise<UserList[]> => {
      const out: UserList[] = [];
      for (const user of users) {
        const userRow = this.rows.userToBundle[user] as number;
        if (userRow < 0) continue;
        const items = Array.from(await list(user), (item) => this.rows.itemToBundle[item] as number).filter((row) => row >= 0);
        out.push({ userRow, items });
      }
      return out;
    };
    const homeSurfaces = this.config.suggested.homeSurfaces;
    const likeness = async (list: (user: number) => Promise<ArrayLike<number>>) => homeLikeness(this.bundle.tables, homeSurfaces, await bundleLists(list));
    const home_likeness = {
      suggested: await likeness(async (user) => (lists.get(user) as { suggested: Int32Array }).suggested),
      popularity: await likeness(async (user) => (lists.get(user) as { popularity: Int32Array }).popularity),
      ...(exploreFeed ? { explore: await likeness(exploreFeed) } : {}),
    };
    return {
      users: users.length,
      mean_list_length: users.length === 0 ? 0 : lengthSum / users.length,
      recall,
      home_neighbour_fraction: home.suggested,
      popularity_home_neighbour_fraction: home.popularity,
      home_neighbour_users: home.users,
      share,
      home_likeness,
      degraded_users: degradedUsers,
    };
  }

  private homeNeighbourFractions(users: readonly number[], lists: Map<number, { suggested: Int32Array; popularity: Int32Array }>, authorIdOf: (datasetItem: number) => string): { suggested: number; popularity: number; users: number } {
    const { tables } = this.bundle;
    const index = GraphIndex.of(this.bundle.tables, this.bundle.index);
    if (!index.accountVectors) return { suggested: 0, popularity: 0, users: 0 };
    let counted = 0;
    const hits = { suggested: 0, popularity: 0 };
    const totals = { suggested: 0, popularity: 0 };
    for (const user of users) {
      const bundleRow = this.rows.userToBundle[user] as number;
      if (bundleRow < 0) continue;
      const log = new UserEngagementLog(historyOf(tables.histories, bundleRow), tables.items.author, this.config.suggested.homeSurfaces);
      const seeds = log.accounts("home", SEED_ENGAGED_BITS, HOME_SEEDS);
      if (seeds.length === 0) continue;
      const neighbourAuthors = new Set<string>();
      for (const seed of seeds) for (const neighbour of index.accountNeighbours(seed.id, HOME_NEIGHBOURS)) neighbourAuthors.add(tables.items.authors.id(neighbour.id));
      counted++;
      const { suggested, popularity } = lists.get(user) as { suggested: Int32Array; popularity: Int32Array };
      for (const [name, list] of [["suggested", suggested], ["popularity", popularity]] as const) {
        for (const item of list) {
          totals[name]++;
          if (neighbourAuthors.has(authorIdOf(item))) hits[name]++;
        }
      }
    }
    return { suggested: totals.suggested === 0 ? 0 : hits.suggested / totals.suggested, popularity: totals.popularity === 0 ? 0 : hits.popularity / totals.popularity, users: counted };
  }
}

/** Authors each user followed in the training window (a follow label). */
function followsByUser(train: TrainingData): Map<number, Set<number>> {
  const column = train.events.labels.follow;
  const out = new Map<number, Set<number>>();
  if (!column) return out;
  for (let i = 0; i < train.events.size; i++) {
    if (!column[i]) continue;
    const user = train.events.user[i] as number;
    let set = out.get(user);
    if (!set) out.set(user, (set = new Set()));
    set.add(train.items.author[train.events.item[i] as number] as number);
  }
  return out;
}

function seenItemsByUser(events: EventTable): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  for (let i = 0; i < events.size; i++) {
    const user = events.user[i] as number;
    let set = out.get(user);
    if (!set) out.set(user, (set = new Set()));
    set.add(events.item[i] as number);
  }
  return out;
}

/** The first `length` items of the popularity order by authors the user does not follow and that the user has not seen. */
export function restrictedPopularity(order: Int32Array, length: number, followed: ReadonlySet<number> | undefined, seen: ReadonlySet<number> | undefined, author: Int32Array): Int32Array {
  const out: number[] = [];
  for (const item of order) {
    if (out.length >= length) break;
    if (seen?.has(item) || followed?.has(author[item] as number)) continue;
    out.push(item);
  }
  return Int32Array.from(out);
}
