import type { BundleTables } from "../serving/bundle-tables";
import type { ServingConfig } from "../config/serving";
import type { FeedUser, RealtimeUserState } from "./types";

/**
 * Merges the bundle's view of a user (features, training history) with real-time state: the user tower and
 * history sources then see the freshest interactions, and everything seen anywhere is excluded.
 */
export function resolveFeedUser(tables: BundleTables, id: string, realtime: RealtimeUserState, config: ServingConfig): FeedUser {
  const row = tables.users.ids.get(id);
  const context = tables.userContext(row, realtime.engagements);
  const activity = context.activity;
  const seen = new Set<number>(activity.seenItems.keys());
  for (const item of realtime.seenItems) seen.add(item);
  const followedAuthors = new Set<number>(activity.followedAuthors);
  for (const author of realtime.followedAuthors) followedAuthors.add(author);
  // distinct items engaged with (clicked, liked, followed, ...), as far as the activity window remembers
  const engagements = activity.recentEngaged.length;
  const cold = row === undefined || engagements < config.coldStart.minEngagements;
  return { id, row, context, seen, followedAuthors, engagements, cold, realtimeEngagements: realtime.engagements };
}
