/**
 * A seeded synthetic data set in the generic format (data/FORMAT.md), shaped unlike KuaiRand: four years of a
 * ratings/engagement log (2019–2022) with sparse days, a few hundred users, a few thousand items, no user features
 * and only the click, long_view and like labels, on two surfaces (1 = Home, 2 = Explore).
 *
 * Generative model (every draw from one seeded Rng, so a seed gives byte-identical files):
 * - Users: one of 8 taste clusters, each a profile over 3 core topics (of 40); a user's taste θ mixes the cluster's
 *   profile (3/4) with two topics of their own (1/4). Each user has an activity level (lognormal), a join day, a
 *   click bias and a "popular share": how much of what they are shown follows the crowd rather than their taste.
 * - Items: an author (items / 5 authors, each with a home topic and a quality), a topic (mostly the author's), a
 *   quality (the author's plus noise), a type (photo / video / album), a hype (lognormal, larger for better items)
 *   and a lifecycle: from its debut its exposure rises to a peak after τ days (1–8 weeks, median 3) and decays,
 *   x·e^(1−x) with x = days since debut / τ, above a small evergreen floor. Most items debut when they are
 *   created; a quarter are back catalogue (old films, reissues) created years earlier — about 30% of those before
 *   1970 — that debut on the platform later. 2% have no known creation time; photos, albums and 5% of videos no
 *   known duration.
 * - Sparse days: activity comes in bursts of 1–4 days, a new one every ~11 days, and grows threefold over the years;
 *   most calendar days have no events. A burst day's impressions come in sessions (~12 impressions, mostly in the
 *   evening) of users drawn by activity among those who have joined.
 * - Exposure: each impression is, with the user's popular share (higher on Explore, lower on Home), one of the day's
 *   popular items (weight lifecycle × hype over the whole catalogue); otherwise a topic is drawn from the user's
 *   taste and an item of that topic by the same weight. A session shows an item at most once.
 * - Labels: P(click | shown) = σ(−2.6 + 3.4·affinity + 0.8·quality + user bias), affinity = θ[topic] / max θ;
 *   like (σ(−2.4 + 1.8·affinity + 0.9·quality)) and long_view (σ(−1.0 + 0.8·affinity + quality + type effect),
 *   videos most) only after a click.
 *
 *   npx tsx scripts/data/synthetic-sparse.ts --out <dir> [--seed N] [--users N] [--items N] [--events N]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { GENERIC_FILES, GENERIC_FORMAT } from "../../core/data/generic";
import { Rng } from "../../models/autodiff/rng";
import { UsageError, runCli } from "../lib/cli";

export interface SyntheticSparseOptions {
  readonly seed: number;
  readonly users: number;
  readonly items: number;
  /** Impressions in all (events.csv rows): exactly this many, unless no item has debuted by the last burst (a tiny catalogue). */
  readonly events: number;
}

export const DEFAULT_SYNTHETIC_SPARSE_OPTIONS: SyntheticSparseOptions = { seed: 1, users: 400, items: 3000, events: 30_000 };

export interface SyntheticSparseStats {
  readonly users: number;
  /** Users with at least one event. */
  readonly activeUsers: number;
  readonly items: number;
  /** Items with at least one event. */
  readonly shownItems: number;
  readonly authors: number;
  readonly events: number;
  readonly clicks: number;
  readonly likes: number;
  readonly longViews: number;
  /** Local calendar days with at least one event. */
  readonly daysWithEvents: number;
  /** Local calendar days from the first event's to the last event's, both included. */
  readonly calendarDays: number;
  readonly firstEvent: string;
  readonly lastEvent: string;
  readonly itemsCreatedBefore1970: number;
  readonly itemsOfUnknownCreation: number;
  /** Shown items first shown more than a year after they were created. */
  readonly itemsFirstShownYearsAfterCreation: number;
}

export interface SyntheticSparseDataset {
  /** File name (dataset.json, events.csv, items.csv, users.csv) → text. */
  readonly files: Record<string, string>;
  readonly stats: SyntheticSparseStats;
}

const DAY_MS = 86_400_000;
/** Local time is UTC−5 (no daylight saving), so local days and UTC days differ, as they do for real data. */
const TIMEZONE_OFFSET_MINUTES = -300;
const FIRST_DAY_UTC_MS = Date.UTC(2019, 0, 1);
const WINDOW_DAYS = 1461; // 2019-01-01 .. 2022-12-31
const HOME_SURFACE = 1;
const EXPLORE_SURFACE = 2;
const TOPICS = [
  "animals", "architecture", "art", "astronomy", "baking", "birds", "books", "cars", "cats", "climbing",
  "coffee", "comedy", "cooking", "cycling", "dance", "diy", "dogs", "fashion", "film", "fitness",
  "gaming", "gardening", "hiking", "history", "jazz", "makeup", "music", "nature", "ocean", "photography",
  "poetry", "rock", "running", "science", "skiing", "soccer", "street", "tech", "travel", "yoga",
] as const;
const TASTE_CLUSTERS = 8;
const CORE_TOPICS_PER_CLUSTER = 3;
const ITEMS_PER_AUTHOR = 5;
const BACK_CATALOGUE_SHARE = 0.25;
const MAX_SESSION_IMPRESSIONS = 40;

type ItemType = "photo" | "video" | "album";
/** A long view is easiest to earn for a video and hardest for a single photo. */
const LONG_VIEW_TYPE_EFFECT: Readonly<Record<ItemType, number>> = { video: 0.3, album: 0, photo: -0.6 };

/** The instant local midnight starts day `day` of the window (day 0 = 2019-01-01). */
function localDayStartMs(day: number): number {
  return FIRST_DAY_UTC_MS + day * DAY_MS - TIMEZONE_OFFSET_MINUTES * 60_000;
}

/** Volume grows threefold over the window, as a platform's does; debuts and joins follow the same curve. */
function growth(day: number): number {
  return 1 + (2 * day) / WINDOW_DAYS;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Cumulative weights with a leading 0 (length n + 1), so a segment [from, to) of rows sums to
 * cumulative[to] − cumulative[from] and can be sampled on its own.
 */
function cumulativeOf(weights: Float64Array, into = new Float64Array(weights.length + 1)): Float64Array {
  into[0] = 0;
  for (let i = 0; i < weights.length; i++) into[i + 1] = (into[i] as number) + (weights[i] as number);
  return into;
}

/** A row of [from, to) drawn with probability proportional to its weight; -1 when the segment weighs nothing. */
function drawFromSegment(rng: Rng, cumulative: Float64Array, from: number, to: number): number {
  const low = cumulative[from] as number;
  const total = (cumulative[to] as number) - low;
  if (!(total > 0)) return -1;
  const target = low + rng.uniform() * total;
  let lo = from;
  let hi = to - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cumulative[mid + 1] as number) > target) hi = mid;
    else lo = mid + 1;
  }
  // rounding can land the target on the segment's end: step back to a row that has weight
  while (lo > from && (cumulative[lo + 1] as number) === (cumulative[lo] as number)) lo--;
  return lo;
}

/** A day of the window drawn in proportion to `growth`, within [firstDay, lastDay]. */
function growingDay(rng: Rng, firstDay: number, lastDay: number): number {
  for (;;) {
    const day = firstDay + rng.uniform() * (lastDay - firstDay);
    if (rng.uniform() * growth(lastDay) < growth(day)) return day;
  }
}

function validate(options: SyntheticSparseOptions): void {
  for (const [name, value] of Object.entries(options)) {
    const minimum = name === "seed" ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < minimum) throw new RangeError(`synthetic-sparse: ${name} must be an integer >= ${minimum}, got ${value}`);
  }
}

export function generateSyntheticSparseDataset(partial: Partial<SyntheticSparseOptions> = {}): SyntheticSparseDataset {
  const options: SyntheticSparseOptions = { ...DEFAULT_SYNTHETIC_SPARSE_OPTIONS, ...partial };
  validate(options);
  const rng = new Rng(options.seed);
  const topicCount = TOPICS.length;

  // --- taste clusters and users ----------------------------------------------------------------------------
  const clusterProfiles = Array.from({ length: TASTE_CLUSTERS }, () => {
    const profile = new Float64Array(topicCount).fill(0.01);
    const core = rng.permutation(topicCount).subarray(0, CORE_TOPICS_PER_CLUSTER);
    for (const topic of core) profile[topic] = (profile[topic] as number) + Math.exp(0.5 * rng.normal());
    return profile;
  });
  const userCount = options.users;
  const taste = Array.from({ length: userCount }, () => {
    const profile = clusterProfiles[rng.int(TASTE_CLUSTERS)] as Float64Array;
    const own = new Float64Array(topicCount);
    for (let k = 0; k < 2; k++) own[rng.int(topicCount)] = 1;
    const sum = (values: Float64Array) => values.reduce((a, b) => a + b, 0);
    const [profileSum, ownSum] = [sum(profile), sum(own)];
    const mixed = Float64Array.from(profile, (weight, topic) => (0.75 * weight) / profileSum + (0.25 * (own[topic] as number)) / ownSum);
    return mixed;
  });
  const userTopicCumulative = taste.map((values) => cumulativeOf(values));
  const tasteMax = taste.map((values) => Math.max(...values));
  const activity = Float64Array.from({ length: userCount }, () => Math.exp(0.9 * rng.normal()));
  const clickBias = Float64Array.from({ length: userCount }, () => 0.4 * rng.normal());
  const popularShare = Float64Array.from({ length: userCount }, () => 0.15 + 0.25 * rng.uniform());
  const joinDay = Float64Array.from({ length: userCount }, () => (rng.uniform() < 0.4 ? 0 : Math.floor(growingDay(rng, 0, 0.85 * WINDOW_DAYS))));
  // users by join day, so the users present on a day are a prefix and can be drawn by activity in one search
  const usersByJoin = Int32Array.from({ length: userCount }, (_, u) => u).sort((a, b) => (joinDay[a] as number) - (joinDay[b] as number) || a - b);
  const joinedActivity = cumulativeOf(Float64Array.from(usersByJoin, (u) => activity[u] as number));

  // --- authors and items -----------------------------------------------------------------------------------
  const itemCount = options.items;
  const authorCount = Math.max(1, Math.round(itemCount / ITEMS_PER_AUTHOR));
  const authorTopic = Int32Array.from({ length: authorCount }, () => rng.int(topicCount));
  const authorQuality = Float64Array.from({ length: authorCount }, () => 0.5 * rng.normal());
  const authorProductivity = cumulativeOf(Float64Array.from({ length: authorCount }, () => Math.exp(rng.normal())));

  const itemTopic = new Int32Array(itemCount);
  const itemQuality = new Float64Array(itemCount);
  const itemType = new Array<ItemType>(itemCount);
  const itemHype = new Float64Array(itemCount);
  const debutMs = new Float64Array(itemCount);
  const riseDays = new Float64Array(itemCount);
  const evergreen = new Float64Array(itemCount);
  const itemRows: string[] = ["item_id,author_id,tags,created_at,duration,type,integrity"];
  const createdAtMs = new Float64Array(itemCount);
  for (let i = 0; i < itemCount; i++) {
    // every author gets an item before productivity decides the rest
    const author = i < authorCount ? i : drawFromSegment(rng, authorProductivity, 0, authorCount);
    const topic = rng.uniform() < 0.85 ? (authorTopic[author] as number) : rng.int(topicCount);
    itemTopic[i] = topic;
    const lowIntegrity = rng.uniform() < 0.04;
    // harmful items are also worse items: fewer clicks keep the integrity score loosely informative
    const quality = Math.max(-2.5, Math.min(2.5, (authorQuality[author] as number) + 0.7 * rng.normal() - (lowIntegrity ? 0.7 : 0)));
    itemQuality[i] = quality;
    itemHype[i] = Math.exp(0.9 * quality + 0.5 * rng.normal());
    riseDays[i] = Math.min(60, Math.max(7, 21 * Math.exp(0.5 * rng.normal())));

    const backCatalogue = rng.uniform() < BACK_CATALOGUE_SHARE;
    let createdAt: number;
    if (backCatalogue) {
      const debut = localDayStartMs(0) + growingDay(rng, 0, WINDOW_DAYS - 1) * DAY_MS;
      debutMs[i] = debut;
      const before1970 = rng.uniform() < 0.3;
      const [earliest, latest] = before1970 ? [Date.UTC(1925, 0, 1), Date.UTC(1970, 0, 1) - 1] : [Date.UTC(1970, 0, 1), debut - 365 * DAY_MS];
      createdAt = Math.floor(earliest + rng.uniform() * (latest - earliest));
      evergreen[i] = 0.012;
    } else {
      // some were created before the log starts, so the first bursts have items mid-lifecycle to show
      createdAt = Math.floor(localDayStartMs(0) + growingDay(rng, -90, WINDOW_DAYS - 2) * DAY_MS);
      debutMs[i] = createdAt;
      evergreen[i] = 0.004;
    }
    createdAtMs[i] = createdAt;
    const createdUnknown = !backCatalogue && rng.uniform() < 0.02;

    const typeDraw = rng.uniform();
    const type: ItemType = typeDraw < 0.5 ? "video" : typeDraw < 0.85 ? "photo" : "album";
    itemType[i] = type;
    const duration = type === "video" && rng.uniform() >= 0.05 ? Math.min(3 * 3_600_000, Math.round(75_000 * Math.exp(0.9 * rng.normal()))) : undefined;
    const integrity = lowIntegrity ? 0.05 + 0.4 * rng.uniform() : 0.85 + 0.15 * rng.uniform();
    const tags = [TOPICS[topic] as string];
    if (rng.uniform() < 0.3) {
      const secondary = TOPICS[rng.int(topicCount)] as string;
      if (!tags.includes(secondary)) tags.push(secondary);
    }
    if (backCatalogue) tags.push("classic");
    itemRows.push([itemId(i), authorId(author), tags.join("|"), createdUnknown ? "" : String(createdAt), duration === undefined ? "" : String(duration), type, integrity.toFixed(3)].join(","));
    if (createdUnknown) createdAtMs[i] = Number.NaN;
  }

  // items grouped by topic, so a topic's items are one segment of the day's weights and can be drawn on their own
  const itemsByTopic = Int32Array.from({ length: itemCount }, (_, i) => i).sort((a, b) => (itemTopic[a] as number) - (itemTopic[b] as number) || a - b);
  const topicStart = new Int32Array(topicCount + 1);
  for (let t = 0, r = 0; t < topicCount; t++) {
    while (r < itemCount && (itemTopic[itemsByTopic[r] as number] as number) === t) r++;
    topicStart[t + 1] = r;
  }

  // --- the calendar: bursts of activity, most days silent --------------------------------------------------
  const dayIntensity = new Float64Array(WINDOW_DAYS);
  let day = rng.int(5);
  while (day < WINDOW_DAYS) {
    const lengthDraw = rng.uniform();
    const burstDays = lengthDraw < 0.3 ? 1 : lengthDraw < 0.65 ? 2 : lengthDraw < 0.9 ? 3 : 4;
    const burstStrength = Math.exp(0.4 * rng.normal());
    for (let k = 0; k < burstDays && day + k < WINDOW_DAYS; k++) dayIntensity[day + k] = burstStrength * growth(day + k) * 0.8 ** k;
    let idle = 3;
    while (rng.uniform() > 1 / 7) idle++; // geometric: ~9 silent days between bursts
    day += burstDays + idle;
  }
  const totalIntensity = dayIntensity.reduce((a, b) => a + b, 0);

  // --- sessions and impressions ------------------------------------------------------------------------------
  const eventUser: number[] = [];
  const eventItem: number[] = [];
  const eventTs: number[] = [];
  const eventSurface: number[] = [];
  const eventLabels: number[] = []; // bit 0 click, bit 1 long_view, bit 2 like
  const popularWeights = new Float64Array(itemCount);
  const topicOrderedWeights = new Float64Array(itemCount); // the same weights in itemsByTopic order
  const popularCumulative = new Float64Array(itemCount + 1);
  const topicItemsCumulative = new Float64Array(itemCount + 1);
  let intensitySoFar = 0;
  let produced = 0;
  for (let d = 0; d < WINDOW_DAYS; d++) {
    const intensity = dayIntensity[d] as number;
    if (intensity === 0) continue;
    // cumulative rounding gives each day its share and options.events in all; what a day cannot show (no user has
    // joined, no item has debuted, as in a tiny catalogue) carries over to the next
    intensitySoFar += intensity;
    const quota = Math.round((options.events * intensitySoFar) / totalIntensity) - produced;
    if (quota <= 0) continue;

    const noonMs = localDayStartMs(d) + DAY_MS / 2;
    for (let i = 0; i < itemCount; i++) {
      const x = (noonMs - (debutMs[i] as number)) / DAY_MS / (riseDays[i] as number);
      const lifecycle = x < 0 ? 0 : x * Math.exp(1 - x) + (evergreen[i] as number);
      popularWeights[i] = lifecycle * (itemHype[i] as number);
    }
    for (let r = 0; r < itemCount; r++) topicOrderedWeights[r] = popularWeights[itemsByTopic[r] as number] as number;
    cumulativeOf(popularWeights, popularCumulative);
    cumulativeOf(topicOrderedWeights, topicItemsCumulative);
    let joined = 0;
    while (joined < userCount && (joinDay[usersByJoin[joined] as number] as number) <= d) joined++;
    if (joined === 0 || !((popularCumulative[itemCount] as number) > 0)) continue;

    let remaining = quota;
    while (remaining > 0) {
      const user = usersByJoin[drawFromSegment(rng, joinedActivity, 0, joined)] as number;
      let length = 4;
      while (rng.uniform() > 1 / 9 && length < MAX_SESSION_IMPRESSIONS) length++;
      length = Math.min(length, remaining);
      const surface = rng.uniform() < 0.55 ? HOME_SURFACE : EXPLORE_SURFACE;
      const share = (popularShare[user] as number) + (surface === EXPLORE_SURFACE ? 0.15 : -0.1);
      const hourDraw = rng.uniform();
      // sessions start by 22:00 and last at most an hour, so they end on the day they start
      const startHour = hourDraw < 0.6 ? 18 + rng.int(4) : hourDraw < 0.85 ? 11 + rng.int(3) : 7 + rng.int(3);
      let ts = localDayStartMs(d) + startHour * 3_600_000 + rng.int(3_600_000);
      const shown = new Set<number>();
      for (let k = 0; k < length; k++) {
        let item = -1;
        for (let attempt = 0; attempt < 4 && item < 0; attempt++) {
          let candidate = -1;
          if (rng.uniform() >= share) {
            const topic = drawFromSegment(rng, userTopicCumulative[user] as Float64Array, 0, topicCount);
            const row = drawFromSegment(rng, topicItemsCumulative, topicStart[topic] as number, topicStart[topic + 1] as number);
            if (row >= 0) candidate = itemsByTopic[row] as number;
          }
          // a taste topic with nothing live today falls back on what is popular
          if (candidate < 0) candidate = drawFromSegment(rng, popularCumulative, 0, itemCount);
          if (!shown.has(candidate)) item = candidate;
        }
        // too few unseen items today: a shorter session, and another session makes up for it (the first
        // impression of a session always finds an item, so the day's quota is always met)
        if (item < 0) continue;
        shown.add(item);
        produced++;
        remaining--;
        const topic = itemTopic[item] as number;
        const affinity = ((taste[user] as Float64Array)[topic] as number) / (tasteMax[user] as number);
        const quality = itemQuality[item] as number;
        const click = rng.uniform() < sigmoid(-2.6 + 3.4 * affinity + 0.8 * quality + (clickBias[user] as number));
        let labels = 0;
        if (click) {
          labels |= 1;
          if (rng.uniform() < sigmoid(-1.0 + 0.8 * affinity + 1.0 * quality + LONG_VIEW_TYPE_EFFECT[itemType[item] as ItemType])) labels |= 2;
          if (rng.uniform() < sigmoid(-2.4 + 1.8 * affinity + 0.9 * quality)) labels |= 4;
        }
        eventUser.push(user);
        eventItem.push(item);
        eventTs.push(ts);
        eventSurface.push(surface);
        eventLabels.push(labels);
        ts += 8_000 + rng.int(82_000);
      }
    }
  }

  // --- files -------------------------------------------------------------------------------------------------
  const order = Int32Array.from({ length: eventTs.length }, (_, e) => e).sort((a, b) => (eventTs[a] as number) - (eventTs[b] as number) || a - b);
  const eventRows: string[] = ["user_id,item_id,ts,surface,click,long_view,like"];
  for (const e of order) {
    const labels = eventLabels[e] as number;
    eventRows.push(`${userId(eventUser[e] as number)},${itemId(eventItem[e] as number)},${eventTs[e]},${eventSurface[e]},${labels & 1},${(labels >> 1) & 1},${(labels >> 2) & 1}`);
  }
  const userRows = ["user_id", ...Array.from({ length: userCount }, (_, u) => userId(u))];
  const manifest = {
    format: GENERIC_FORMAT,
    name: "synthetic-sparse",
    timezone_offset_minutes: TIMEZONE_OFFSET_MINUTES,
    home_surfaces: [HOME_SURFACE],
    user_features: {},
  };
  const files: Record<string, string> = {
    [GENERIC_FILES.manifest]: `${JSON.stringify(manifest, null, 2)}\n`,
    [GENERIC_FILES.events]: `${eventRows.join("\n")}\n`,
    [GENERIC_FILES.items]: `${itemRows.join("\n")}\n`,
    [GENERIC_FILES.users]: `${userRows.join("\n")}\n`,
  };
  return { files, stats: statistics(options, authorCount, createdAtMs, order, eventUser, eventItem, eventTs, eventLabels) };
}

function statistics(
  options: SyntheticSparseOptions,
  authors: number,
  createdAtMs: Float64Array,
  order: Int32Array,
  eventUser: readonly number[],
  eventItem: readonly number[],
  eventTs: readonly number[],
  eventLabels: readonly number[],
): SyntheticSparseStats {
  const localDay = (ms: number) => Math.floor((ms + TIMEZONE_OFFSET_MINUTES * 60_000 - FIRST_DAY_UTC_MS) / DAY_MS);
  const days = new Set<number>();
  const users = new Set<number>();
  const firstShown = new Map<number, number>();
  const count = (bit: number) => eventLabels.reduce((sum, labels) => sum + ((labels >> bit) & 1), 0);
  for (const e of order) {
    const ts = eventTs[e] as number;
    days.add(localDay(ts));
    users.add(eventUser[e] as number);
    const item = eventItem[e] as number;
    if (!firstShown.has(item)) firstShown.set(item, ts);
  }
  const first = eventTs[order[0] ?? 0] ?? 0;
  const last = eventTs[order[order.length - 1] ?? 0] ?? 0;
  let yearsAfter = 0;
  for (const [item, shown] of firstShown) if (shown - (createdAtMs[item] as number) > 365 * DAY_MS) yearsAfter++;
  const localDate = (ms: number) => new Date(ms + TIMEZONE_OFFSET_MINUTES * 60_000).toISOString().slice(0, 10);
  return {
    users: options.users,
    activeUsers: users.size,
    items: options.items,
    shownItems: firstShown.size,
    authors,
    events: eventTs.length,
    clicks: count(0),
    longViews: count(1),
    likes: count(2),
    daysWithEvents: days.size,
    calendarDays: eventTs.length === 0 ? 0 : localDay(last) - localDay(first) + 1,
    firstEvent: localDate(first),
    lastEvent: localDate(last),
    itemsCreatedBefore1970: createdAtMs.reduce((sum, ms) => sum + (ms < 0 ? 1 : 0), 0),
    itemsOfUnknownCreation: createdAtMs.reduce((sum, ms) => sum + (Number.isNaN(ms) ? 1 : 0), 0),
    itemsFirstShownYearsAfterCreation: yearsAfter,
  };
}

const userId = (u: number) => `u${String(u).padStart(4, "0")}`;
const itemId = (i: number) => `m${String(i).padStart(5, "0")}`;
const authorId = (a: number) => `a${String(a).padStart(4, "0")}`;

/** Writes the four files into `directory` (created if needed) and returns the generator's statistics. */
export async function writeSyntheticSparseDataset(directory: string, options: Partial<SyntheticSparseOptions> = {}): Promise<SyntheticSparseStats> {
  const { files, stats } = generateSyntheticSparseDataset(options);
  await mkdir(directory, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(directory, name), text);
  return stats;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const usage = "usage: npx tsx scripts/data/synthetic-sparse.ts --out <dir> [--seed N] [--users N] [--items N] [--events N]";
  await runCli(usage, async () => {
    const names = ["seed", "users", "items", "events"] as const;
    const { values } = parseArgs({ options: { out: { type: "string" }, seed: { type: "string" }, users: { type: "string" }, items: { type: "string" }, events: { type: "string" } }, strict: true });
    if (!values.out) throw new UsageError("--out <dir> is required");
    const options: Partial<Record<(typeof names)[number], number>> = {};
    for (const name of names) {
      const text = values[name];
      if (text === undefined) continue;
      const value = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || (name !== "seed" && value < 1)) throw new UsageError(`--${name} must be a ${name === "seed" ? "non-negative" : "positive"} integer, got "${text}"`);
      options[name] = value;
    }
    const stats = await writeSyntheticSparseDataset(values.out, options);
    console.log(`wrote a synthetic sparse-days data set to ${values.out}`);
    console.log(JSON.stringify(stats, null, 2));
  });
}
