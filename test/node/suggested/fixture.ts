import { parseServingConfig, type ServingConfig } from "../../../core/config/serving";
import { ENGAGED_BITS, LABEL_BIT, type Engagement } from "../../../core/features/engagement";
import { NO_REALTIME_STATE, type FeedUser, type RealtimeUserState } from "../../../core/funnel/types";
import type { ServingBundle } from "../../../core/serving/serving-bundle";
import { resolveFeedUser } from "../../../core/funnel/user";
import { historyOf } from "../../../core/serving/assets";
import { createFeedState } from "../../../core/funnel/explore";
import type { BundleStores } from "../../../core/funnel/stores";
import { DEFAULT_SERVING_CONFIG } from "../../../models/serving-config";
export { fixtureServingBundle } from "../funnel/serving-bundle-fixture";

/**
 * The bundle's config with the default `suggested` section (whatever the bundle's own says) and a generous executor
 * budget: tests check the shipped defaults' results, not this machine's speed.
 */
export function testConfig(bundle: ServingBundle, patch: Partial<ServingConfig["suggested"]> = {}): ServingConfig {
  return parseServingConfig({ ...bundle.tables.config, suggested: { cpuBudgetMs: 10_000, ...patch } }, "test config");
}

export { DEFAULT_SERVING_CONFIG };

/** Bundle user rows with the most engaged events on Home and on other surfaces, busiest first. */
export function busyUsers(bundle: ServingBundle, homeSurfaces: readonly number[] = [1]): { row: number; home: number; other: number }[] {
  const { tables } = bundle;
  const users: { row: number; home: number; other: number }[] = [];
  for (let row = 0; row < tables.users.ids.size; row++) {
    let home = 0;
    let other = 0;
    for (const event of historyOf(tables.histories, row)) {
      if (!(event.labels & ENGAGED_BITS)) continue;
      if (homeSurfaces.includes(event.surface)) home++;
      else other++;
    }
    users.push({ row, home, other });
  }
  return users.filter((user) => user.home > 0 && user.other > 0).sort((a, b) => b.home + b.other - (a.home + a.other) || a.row - b.row);
}

export function feedUser(bundle: ServingBundle, row: number | string, config: ServingConfig, realtime: RealtimeUserState = NO_REALTIME_STATE): FeedUser {
  const id = typeof row === "number" ? bundle.tables.users.ids.id(row) : row;
  return resolveFeedUser(bundle.tables, id, realtime, config);
}

/** The bundle's stores for one user, as a Suggested Posts request builds them (Home surface, the user's retrieval embedding). */
export async function storesFor(bundle: ServingBundle, row: number | string, config: ServingConfig, options: { realtime?: RealtimeUserState; exclude?: ReadonlySet<number>; trending?: { items: Int32Array; scores: Float32Array } } = {}): Promise<BundleStores> {
  const realtime = options.realtime ?? NO_REALTIME_STATE;
  const request = {
    user: feedUser(bundle, row, config, realtime),
    count: 20,
    surface: config.suggested.homeSurfaces[0] as number,
    nowMs: bundle.tables.asOfMs,
    exclude: options.exclude ?? new Set<number>(),
    config,
    ...(options.trending ? { trending: options.trending } : {}),
  };
  return (await createFeedState(bundle, request, () => true)).stores;
}

/** A like of `item` on `surface`, after the bundle's window. */
export function like(item: number, ts: number, surface: number): Engagement {
  return { item, ts, surface, labels: LABEL_BIT.click | LABEL_BIT.like };
}
