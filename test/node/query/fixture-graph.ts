import { InMemoryQueryStores, type InMemoryGraph } from "../../../core/query";

/**
 * A hand-sized social graph; expected query results in the tests are worked out from it by hand.
 *
 * Accounts (authors) and their 2-d "default" embeddings:
 *   10 [1, 0]   20 [0.9, 0.1]  (close to 10)
 *   11 [0, 1]   21 [0.1, 0.9]  (close to 11)
 *   12 [0.7, 0.7] (between)     30 [-1, 0]
 * Media: id = author × 10 + n, created `age` hours before NOW.
 * Users: 1 (alice, active), 2 (bob), 3 (carol), 4 (dave, cold: one follow, no events).
 */
export const HOUR = 3_600_000;
export const NOW = 1_700_000_000_000;

export const ALICE = 1;
export const DAVE = 4;

const item = (id: number, author: number, ageHours: number, integrity?: number) => ({
  id,
  author,
  createdAtMs: NOW - ageHours * HOUR,
  ...(integrity === undefined ? {} : { integrity }),
});

/** The "default" ranking model's score per item (user-independent, so orders are easy to read). */
export const DEFAULT_RANK: Readonly<Record<number, number>> = {
  100: 0.5, 101: 0.4, 102: 0.1, 110: 0.6, 111: 0.3, 120: 0.9, 121: 0.2, 200: 0.8, 201: 0.7, 210: 0.95, 211: 0.35, 300: 0.45,
};

export const FIXTURE_GRAPH: InMemoryGraph = {
  nowMs: NOW,
  media: [
    item(100, 10, 1),
    item(101, 10, 5),
    item(102, 10, 50),
    item(110, 11, 2),
    item(111, 11, 3),
    item(120, 12, 1, 0.5),
    item(121, 12, 4),
    item(200, 20, 2),
    item(201, 20, 30),
    item(210, 21, 1, 0.9),
    item(211, 21, 10, 0.75),
    item(300, 30, 6),
  ],
  events: [
    { user: 1, media: 100, ts: 1000, surface: "home", liked: true },
    { user: 1, media: 101, ts: 2000, surface: "home", liked: true },
    { user: 1, media: 110, ts: 3000, surface: "other", liked: true },
    { user: 1, media: 300, ts: 3500, surface: "home" },
    { user: 2, media: 110, ts: 1500, surface: "other", liked: true },
    { user: 2, media: 200, ts: 1600, surface: "home", liked: true },
    { user: 2, media: 120, ts: 1700, surface: "home" },
    { user: 3, media: 100, ts: 1200, surface: "home", liked: true },
    { user: 3, media: 210, ts: 1300, surface: "other", liked: true },
    { user: 3, media: 110, ts: 1400, surface: "other" },
  ],
  follows: [
    { user: 1, account: 30, ts: 500 },
    { user: 4, account: 11, ts: 100 },
  ],
  accountEmbeddings: {
    default: { 10: [1, 0], 20: [0.9, 0.1], 11: [0, 1], 21: [0.1, 0.9], 12: [0.7, 0.7], 30: [-1, 0] },
  },
  mediaEmbeddings: {
    default: { 100: [1, 0], 101: [0.8, 0.2], 110: [0, 1], 111: [0.2, 0.8], 200: [0.9, 0.3], 210: [0.1, 1] },
  },
  /** Alice's vector in the media space; the others have none. */
  userEmbeddings: { 1: [1, 0] },
  popular: [
    { id: 300, score: 50 },
    { id: 100, score: 40 },
    { id: 200, score: 30 },
    { id: 120, score: 20 },
  ],
  trending: [
    { id: 210, score: 9 },
    { id: 110, score: 8 },
  ],
  seen: { 1: [201, 111] },
  rankers: {
    default: (_user, media) => DEFAULT_RANK[media] ?? 0,
    /** Newer ids first: a second model, to check the model name reaches the port. */
    by_id: (_user, media) => media,
  },
};

export function fixtureStores(): InMemoryQueryStores {
  return new InMemoryQueryStores(FIXTURE_GRAPH);
}

/** A clock that never moves: executor tests should not depend on how fast the machine is. */
export const frozenClock = () => 0;

export const SEED_QUERY = `user
.let(seed_id=user_id)
.liked(max_num_to_retrieve=30)
.account_nn(embedding_config=default)
.posted_media(max_media_per_account=10)
.filter(non_recommendable_model_threshold=0.2)
.rank(ranking_model=default)
.diversify_by(seed_id, method=round_robin)`;
