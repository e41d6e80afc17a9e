import type { ItemTable, UserTable } from "../data/dataset";
import type { EngagementCounters } from "./counters";
import type { FeatureSpec } from "./spec";
import type { UserActivity } from "./user-activity";

/** Item fields feature code reads, whether from a Dataset (training) or a model bundle (serving). */
export type CatalogueFeatures = Pick<ItemTable, "author" | "tagOffsets" | "tagIds" | "createdAt" | "durationMs" | "type">;

/**
 * The state features are computed from: the fitted spec, the catalogue, embedding-row maps
 * (rare ids share row 0) and the item and author counters as of `counters.items.asOfMs`.
 */
export interface FeatureContext {
  readonly spec: FeatureSpec;
  readonly catalogue: CatalogueFeatures;
  /** Embedding row of each catalogue item (0 = too rare to have its own). */
  readonly itemEmbeddingRow: Int32Array;
  /** Embedding row of each author (0 = too rare). */
  readonly authorEmbeddingRow: Int32Array;
  readonly itemCounters: EngagementCounters;
  readonly authorCounters: EngagementCounters;
}

/** One user as feature code sees them. */
export interface UserContext {
  /** Row in the user embedding table; 0 for users the models never saw. */
  readonly embeddingRow: number;
  /** Code of each user categorical feature, in the spec's order (0 = empty/unknown). */
  readonly categorical: ArrayLike<number>;
  readonly numeric: ArrayLike<number>;
  readonly hasFeatures: boolean;
  readonly activity: UserActivity;
}

/**
 * The context of user row `user` (its features, embedding row and activity), or of a user the tables do not know
 * (`user` undefined: row 0, empty features). Training rows and serving build it here, the same way.
 */
export function userContextOf(users: Pick<UserTable, "categorical" | "numeric" | "hasFeatures">, userEmbeddingRow: ArrayLike<number>, user: number | undefined, activity: UserActivity): UserContext {
  if (user === undefined) return { embeddingRow: 0, categorical: users.categorical.map(() => 0), numeric: users.numeric.map(() => 0), hasFeatures: false, activity };
  return {
    embeddingRow: userEmbeddingRow[user] ?? 0,
    categorical: users.categorical.map((feature) => feature.codes[user] as number),
    numeric: users.numeric.map((feature) => feature.values[user] as number),
    hasFeatures: users.hasFeatures[user] === 1,
    activity,
  };
}
