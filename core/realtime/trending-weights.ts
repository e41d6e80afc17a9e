import type { InteractionType } from "./events";

/**
 * How much one event of each type adds to an item's trending score. Trending counts engagement, the same
 * "engaged" notion as ENGAGED_BITS in core/features/engagement.ts: impressions say what the ranker chose
 * to show, not what people want, and a "hate" is not popularity, so both weigh 0.
 */
export type TrendingWeights = Readonly<Record<InteractionType, number>>;

export const DEFAULT_TRENDING_WEIGHTS: TrendingWeights = {
  impression: 0,
  click: 1,
  long_view: 1,
  like: 1,
  comment: 1,
  forward: 1,
  follow: 1,
  hate: 0,
};
