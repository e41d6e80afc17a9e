import { ENGAGED_BITS, LABEL_BIT, type Engagement } from "../features/engagement";
import type { ScoredId, Surface } from "../query/stores";

/**
 * One user's engagements with their surface, as the user-rooted ports of the query language read them
 * (`liked`, `engaged(surface=…)`, `followed`, …). `UserActivity` aggregates away the surface, which is exactly
 * what Suggested Posts needs (H = Home, R = other surfaces), so this reads the same events again: the bundle's
 * training history followed by the real-time engagements.
 */
export class UserEngagementLog {
  private readonly home: ReadonlySet<number>;
  private readonly memo = new Map<string, ScoredId[]>();

  constructor(
    private readonly events: readonly Engagement[],
    private readonly authorOf: ArrayLike<number>,
    homeSurfaces: readonly number[],
  ) {
    this.home = new Set(homeSurfaces);
  }

  /** True when the event's surface is one of the Home surfaces. */
  isHome(surface: number): boolean {
    return this.home.has(surface);
  }

  /** Authors of the events that match, most recent first; score = how many matching events. */
  accounts(surface: Surface, bits: number, max: number): ScoredId[] {
    return this.ranked(`a:${surface}:${bits}`, surface, bits, (event) => this.author(event.item)).slice(0, max);
  }

  /** Items of the events that match, most recent first; score = how many matching events. */
  media(surface: Surface, bits: number, max: number): ScoredId[] {
    return this.ranked(`m:${surface}:${bits}`, surface, bits, (event) => event.item).slice(0, max);
  }

  /** Authors the user followed (a follow label), most recent first. */
  followed(max: number): ScoredId[] {
    return this.accounts("any", LABEL_BIT.follow, max);
  }

  private author(item: number): number {
    const author = this.authorOf[item];
    if (author === undefined) throw new RangeError(`user engagement log: item ${item} is not in the catalogue`);
    return author;
  }

  private ranked(key: string, surface: Surface, bits: number, idOf: (event: Engagement) => number): ScoredId[] {
    const cached = this.memo.get(key);
    if (cached) return cached;
    const byId = new Map<number, { id: number; count: number; latest: number; order: number }>();
    this.events.forEach((event, order) => {
      if ((event.labels & bits) === 0) return;
      if (surface !== "any" && this.isHome(event.surface) !== (surface === "home")) return;
      const id = idOf(event);
      const entry = byId.get(id) ?? { id, count: 0, latest: -Infinity, order: -1 };
      entry.count++;
      // events are time-ordered; `order` breaks equal timestamps in favour of the later event
      if (event.ts >= entry.latest) {
        entry.latest = event.ts;
        entry.order = order;
      }
      byId.set(id, entry);
    });
    const list = [...byId.values()]
      .sort((a, b) => b.latest - a.latest || b.order - a.order || a.id - b.id)
      .map(({ id, count }) => ({ id, score: count }));
    this.memo.set(key, list);
    return list;
  }
}

/** "Engaged" for seeds: any positive interaction (click, long view, like, comment, forward, follow). */
export const SEED_ENGAGED_BITS = ENGAGED_BITS;
