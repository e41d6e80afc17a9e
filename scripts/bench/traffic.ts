// Who asks for a feed. The warm set (a few hundred users, visited over and over) measures the hot path; real traffic
// spreads over many users who each come rarely, more often the active ones, plus ids nobody has seen before.
import type { BundleTables } from "../../core/serving/bundle-tables";
import { createRandom } from "../../core/util/random";

export interface TrafficMixOptions {
  /** How many requests the list holds (it is cycled when a run asks for more). */
  readonly requests: number;
  /** Share of requests from ids neither the bundle nor the state stores know. */
  readonly newUserShare: number;
  readonly seed: number;
}

export const DEFAULT_TRAFFIC_MIX: TrafficMixOptions = { requests: 200_000, newUserShare: 0.1, seed: 7 };

/**
 * A realistic mix of user ids: each of the bundle's users is drawn with probability proportional to 1 + the
 * interactions it had in the training window (active users come back more, but every user can come), and a share
 * of the requests carries a fresh id. The same seed gives the same list.
 */
export function realisticUserIds(tables: Pick<BundleTables, "users" | "histories">, options: TrafficMixOptions = DEFAULT_TRAFFIC_MIX): string[] {
  const userCount = tables.users.ids.size;
  if (userCount === 0) throw new Error("traffic mix: the bundle has no users");
  if (!(options.newUserShare >= 0 && options.newUserShare < 1)) throw new RangeError("traffic mix: newUserShare must be in [0, 1)");
  const cumulative = new Float64Array(userCount);
  let total = 0;
  for (let row = 0; row < userCount; row++) {
    total += 1 + ((tables.histories.offsets[row + 1] ?? 0) - (tables.histories.offsets[row] ?? 0));
    cumulative[row] = total;
  }
  const random = createRandom(options.seed);
  const ids: string[] = [];
  let fresh = 0;
  for (let i = 0; i < options.requests; i++) {
    if (random() < options.newUserShare) {
      ids.push(`mix-new-${options.seed}-${fresh++}`);
      continue;
    }
    const target = random() * total;
    let low = 0;
    let high = userCount - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((cumulative[mid] as number) > target) high = mid;
      else low = mid + 1;
    }
    ids.push(tables.users.ids.id(low));
  }
  return ids;
}

/** How spread a list of ids is: distinct ids, and the share of requests that go to the busiest 1% of them. */
export function describeTraffic(ids: readonly string[]): { requests: number; distinct: number; top1PercentShare: number } {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const sorted = [...counts.values()].sort((a, b) => b - a);
  const top = sorted.slice(0, Math.max(1, Math.floor(sorted.length / 100))).reduce((a, b) => a + b, 0);
  return { requests: ids.length, distinct: counts.size, top1PercentShare: ids.length > 0 ? top / ids.length : 0 };
}
