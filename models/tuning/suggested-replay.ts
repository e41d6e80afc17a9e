import type { EventTable } from "../../core/data/dataset";
import { recallAtK } from "../../core/eval/metrics";
import { restrictedPopularity } from "../../core/eval/systems/suggested-systems";
import type { ServingConfig } from "../../core/config/serving";
import { NO_REALTIME_STATE } from "../../core/funnel/types";
import type { ServingBundle } from "../../core/serving/serving-bundle";
import { resolveFeedUser } from "../../core/funnel/user";
import { suggestedLogValue } from "../../core/ranking/value-model";
import { embedUser } from "../../core/serving/bundle-models";
import { assembleSuggestions, gatherSuggestionCandidates, HOME_PROFILE_ITEMS, homeTermsOf, type HomeTerms, type PoolEntry } from "../../core/suggested/suggest";
import { homeProfile, type HomeProfile } from "../../core/suggested/home-like";
import { userHomeLikeness, type UserHomeLikeness } from "../../core/eval/home-likeness";
import type { BundleTables } from "../../core/serving/bundle-tables";
import { heldOutClicks, shuffledUsers } from "./replay";
import { mtmlProbabilities } from "../../core/funnel/scoring";

/** Suggested Posts' page size: the evaluation's recall@20. */
export const SUGGESTED_PAGE = 20;
/** The page the evaluation asks for (and cuts restricted popularity to). */
export const SUGGESTED_LIST = 100;

/** One held-out user's Suggested Posts candidates, with what the value model reads about each. */
export interface SuggestedReplayUser {
  readonly entries: readonly PoolEntry[];
  readonly probabilities: Float32Array;
  readonly relativeExposure: Float64Array;
  readonly affinity: Float64Array;
  /** Held-out clicks on authors the user had not followed by the cut (bundle item rows). */
  readonly positives: ReadonlySet<number>;
  /** Restricted popularity (no followed author, nothing seen), cut to SUGGESTED_LIST. */
  readonly popularity: Int32Array;
  /** The user's bundle row (-1 for a user the bundle does not know), for the Home-likeness measures. */
  readonly userRow: number;
  /** The user's Home profile and each entry's Home terms, before their weights. */
  readonly homeProfile: HomeProfile;
  readonly homeTerms: readonly HomeTerms[];
  /** Restricted popularity's list (SUGGESTED_LIST) against the user's Home, as the evaluation measures it; undefined without Home engagements. */
  readonly popularityHomeLikeness: UserHomeLikeness | undefined;
}

export interface SuggestedReplay {
  readonly users: readonly SuggestedReplayUser[];
  readonly author: Int32Array;
  readonly tables: BundleTables;
  readonly homeSurfaces: ReadonlySet<number>;
}

export interface SuggestedMeasuresOnReplay {
  readonly recall20: number;
  readonly popularityRecall20: number;
  readonly recallList: number;
  readonly popularityRecallList: number;
  /** The list's (SUGGESTED_LIST) Home-likeness, as the evaluation measures it, beside restricted popularity's, over the users with Home engagements: media-type mix TV, and the age distributions' distance (W1, hours). */
  readonly typeMixTv: number;
  readonly popularityTypeMixTv: number;
  readonly ageDistanceHours: number;
  readonly popularityAgeDistanceHours: number;
}

/**
 * Gathers each sampled held-out user's candidates once (the queries, the merge, the popular candidates), with the
 * MTML's probabilities on the Home surface: a trial re-scores and re-assembles the page without running a query.
 */
export async function buildSuggestedReplay(
  bundle: ServingBundle,
  base: ServingConfig,
  heldOut: EventTable,
  rows: { readonly toBundleUser: (user: number) => number; readonly toBundleItem: (item: number) => number },
  popularity: Int32Array,
  options: { readonly users: number; readonly seed: number },
): Promise<SuggestedReplay> {
  const { tables, models } = bundle;
  if (!models.mtml) throw new Error("the Suggested Posts replay needs the MTML");
  const sessions = { mtml: models.mtml, mtmlOneUser: models.mtmlOneUser };
  const author = tables.items.author;
  const config: ServingConfig = { ...base, suggested: { ...base.suggested, cpuBudgetMs: 1000 } };
  const homeSurfaces = new Set(config.suggested.homeSurfaces);
  const clicks = heldOutClicks(heldOut, rows);
  const candidates = shuffledUsers(clicks, options.seed + 1);
  const users: SuggestedReplayUser[] = [];
  for (const user of candidates) {
    if (users.length >= options.users) break;
    const bundleUser = rows.toBundleUser(user);
    const id = bundleUser >= 0 ? tables.users.ids.id(bundleUser) : `replay-unknown-${user}`;
    const feedUser = resolveFeedUser(tables, id, NO_REALTIME_STATE, config);
    // the evaluation counts engagements with authors the user had not followed (follows from the window)
    const positives = new Set([...(clicks.get(user) as Set<number>)].filter((item) => !feedUser.followedAuthors.has(author[item] as number)));
    if (positives.size === 0) continue;
    const found = await gatherSuggestionCandidates(bundle, { user: feedUser, count: SUGGESTED_LIST, exclude: new Set(), nowMs: tables.asOfMs, config });
    const items = found.entries.map((entry) => entry.item);
    // the search weighs affinity even when the base config does not
    const tower = bundle.models.retrievalUserTower;
    const embedding = found.stores.retrievalEmbedding ?? (tower ? await embedUser(tower, tables, feedUser.context) : undefined);
    const profile = homeProfile(found.stores.engagedMedia(found.stores.userId, "home", HOME_PROFILE_ITEMS), tables.items.type, author, tables.accountEmbeddings);
    const popularityList = restrictedPopularity(popularity, SUGGESTED_LIST, feedUser.followedAuthors, feedUser.seen, author);
    users.push({
      entries: found.entries,
      probabilities: await mtmlProbabilities(tables, sessions, feedUser.context, items, config.suggested.homeSurfaces[0] as number, tables.asOfMs),
      relativeExposure: Float64Array.from(items, (item) => tables.relativeExposure(item)),
      affinity: found.stores.affinities(items, embedding),
      positives,
      popularity: popularityList,
      userRow: bundleUser,
      homeProfile: profile,
      homeTerms: items.map((item) => homeTermsOf(bundle, config.suggested.home.freshness, profile, item, tables.asOfMs)),
      popularityHomeLikeness: bundleUser >= 0 ? userHomeLikeness(tables, homeSurfaces, { userRow: bundleUser, items: popularityList }) : undefined,
    });
  }
  return { users, author, tables, homeSurfaces };
}

/** Suggested Posts' recall on the replay under `config`, beside restricted popularity's. */
export function measureSuggested(replay: SuggestedReplay, config: ServingConfig): SuggestedMeasuresOnReplay {
  const sums = { recall20: 0, popularityRecall20: 0, recallList: 0, popularityRecallList: 0 };
  const home = { users: 0, tv: 0, popularityTv: 0, ageUsers: 0, gap: 0, popularityGap: 0 };
  const model = config.suggestedValueModel;
  const typeOf = replay.tables.items.type;
  for (const user of replay.users) {
    const scores = Float64Array.from(user.entries, (_, r) => suggestedLogValue(model, user.probabilities, r, user.relativeExposure[r] as number, user.affinity[r] as number));
    const assembly = { terms: user.homeTerms, profile: user.homeProfile, typeOf };
    const page = Int32Array.from(assembleSuggestions(user.entries, scores, replay.author, config.suggested, SUGGESTED_LIST, undefined, assembly), (entry) => entry.item);
    const popularity = user.popularity.subarray(0, page.length);
    sums.recall20 += recallAtK(page, user.positives, SUGGESTED_PAGE);
    sums.popularityRecall20 += recallAtK(popularity, user.positives, SUGGESTED_PAGE);
    sums.recallList += recallAtK(page, user.positives, page.length);
    sums.popularityRecallList += recallAtK(popularity, user.positives, popularity.length);
    const popularityLikeness = user.popularityHomeLikeness;
    if (!popularityLikeness) continue;
    const likeness = userHomeLikeness(replay.tables, replay.homeSurfaces, { userRow: user.userRow, items: page });
    if (!likeness) continue;
    home.users++;
    home.tv += likeness.typeMixTv;
    home.popularityTv += popularityLikeness.typeMixTv;
    if (likeness.ages && popularityLikeness.ages) {
      home.ageUsers++;
      home.gap += likeness.ages.distance;
      home.popularityGap += popularityLikeness.ages.distance;
    }
  }
  const n = Math.max(1, replay.users.length);
  const perUser = (sum: number, users: number) => (users === 0 ? 0 : sum / users);
  return {
    recall20: sums.recall20 / n,
    popularityRecall20: sums.popularityRecall20 / n,
    recallList: sums.recallList / n,
    popularityRecallList: sums.popularityRecallList / n,
    typeMixTv: perUser(home.tv, home.users),
    popularityTypeMixTv: perUser(home.popularityTv, home.users),
    ageDistanceHours: perUser(home.gap, home.ageUsers),
    popularityAgeDistanceHours: perUser(home.popularityGap, home.ageUsers),
  };
}
