/**
 * A synthetic data set in KuaiRand's own layout (log_standard.csv, user_features.csv, video_features_basic.csv,
 * video_features_statistic.csv), small and seeded, for tests of the models and the pipeline.
 *
 * It has structure a model can learn: users and items belong to taste clusters, items of a user's cluster are
 * shown more and clicked far more often, authors and tags follow the item's cluster, popularity is Zipf-like, and
 * engagement labels (long view, like, comment, forward, follow) are conditional on a click. It also has the awkward
 * cases feature code must handle: items without tags or duration, users without a feature row, users who never
 * engage (empty history), several surfaces.
 *
 *   npx tsx scripts/models/synthetic-kuairand.ts --out <dir> [--users N] [--items N] [--days N] [--seed N]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Rng } from "../../models/autodiff/rng";

export interface SyntheticKuaiRandOptions {
  readonly users: number;
  readonly items: number;
  /** Consecutive local days of the log, starting 2022-04-25 (China Standard Time, as KuaiRand). */
  readonly days: number;
  /** Mean impressions of an active user per day. */
  readonly impressionsPerUserDay: number;
  readonly seed: number;
}

export const DEFAULT_SYNTHETIC_OPTIONS: SyntheticKuaiRandOptions = { users: 300, items: 240, days: 4, impressionsPerUserDay: 6, seed: 7 };

/** 2022-04-25 00:00 in China Standard Time (UTC+8), KuaiRand's first day. */
export const SYNTHETIC_FIRST_DAY_MS = Date.UTC(2022, 3, 25) - 8 * 3_600_000;
const DAY_MS = 86_400_000;
const CLUSTERS = 6;
const TAGS = 24;

const LOG_HEADER = "user_id,video_id,date,hourmin,time_ms,is_click,is_like,is_follow,is_comment,is_forward,is_hate,long_view,play_time_ms,duration_ms,profile_stay_time,comment_stay_time,is_profile_enter,is_rand,tab";
const USER_HEADER = [
  "user_id,user_active_degree,is_lowactive_period,is_live_streamer,is_video_author,follow_user_num,follow_user_num_range,fans_user_num,fans_user_num_range,friend_user_num,friend_user_num_range,register_days,register_days_range",
  ...Array.from({ length: 18 }, (_, i) => `onehot_feat${i}`),
].join(",");
const ITEM_HEADER = "video_id,author_id,video_type,upload_dt,upload_type,visible_status,video_duration,server_width,server_height,music_id,music_type,tag";
const STAT_HEADER = "video_id,counts,show_cnt,show_user_num,report_user_num,reduce_similar_user_num";

/** The data set's files, name → CSV text. */
export function syntheticKuaiRandFiles(partial: Partial<SyntheticKuaiRandOptions> = {}): Record<string, string> {
  const options = { ...DEFAULT_SYNTHETIC_OPTIONS, ...partial };
  for (const [name, value] of Object.entries(options)) {
    if (!Number.isInteger(value) || value < (name === "seed" ? 0 : 1)) throw new Error(`synthetic data: ${name} must be a positive integer, got ${value}`);
  }
  const rng = new Rng(options.seed);
  const { users, items, days } = options;

  // --- items: cluster, author (authors belong to one cluster), tags of the cluster, Zipf popularity ---
  const authorsPerCluster = Math.max(1, Math.round(items / (4 * CLUSTERS)));
  const itemCluster = Int32Array.from({ length: items }, () => rng.int(CLUSTERS));
  const itemAuthor = Int32Array.from(itemCluster, (cluster) => cluster * authorsPerCluster + rng.int(authorsPerCluster));
  const popularityRank = rng.permutation(items);
  const popularity = Float64Array.from(popularityRank, (rank) => 1 / (rank + 3) ** 0.9);
  const itemRows: string[] = [ITEM_HEADER];
  const durationMs: number[] = [];
  for (let i = 0; i < items; i++) {
    const cluster = itemCluster[i] as number;
    const tagCount = rng.uniform() < 0.15 ? 0 : 1 + rng.int(3);
    const tags = new Set<number>();
    for (let t = 0; t < tagCount; t++) tags.add(rng.uniform() < 0.8 ? cluster * 3 + rng.int(3) : CLUSTERS * 3 + rng.int(TAGS - CLUSTERS * 3));
    const duration = rng.uniform() < 0.05 ? -1 : 5_000 + rng.int(115_000);
    durationMs.push(duration);
    const uploaded = new Date(SYNTHETIC_FIRST_DAY_MS + 8 * 3_600_000 - (1 + rng.int(40)) * DAY_MS).toISOString().slice(0, 10);
    itemRows.push([
      i,
      1000 + (itemAuthor[i] as number),
      rng.uniform() < 0.1 ? "AD" : "NORMAL",
      uploaded,
      "Web",
      "0.0",
      duration < 0 ? "" : `${duration}.0`,
      "720.0",
      "1280.0",
      rng.int(1_000_000),
      "9.0",
      tags.size === 0 ? "" : tags.size === 1 ? String([...tags][0]) : `"${[...tags].join(",")}"`,
    ].join(","));
  }

  // --- users: cluster, activity level, categorical and numeric features (some users have no feature row) ---
  const userCluster = Int32Array.from({ length: users }, () => rng.int(CLUSTERS));
  const activity = Float64Array.from({ length: users }, () => (rng.uniform() < 0.1 ? 0 : 0.3 + 1.7 * rng.uniform()));
  const clickBias = Float64Array.from({ length: users }, () => rng.normal() * 0.5);
  const degrees = ["full_active", "high_active", "middle_active", "low_active"];
  const ranges = ["0", "[1,10)", "[10,100)", "[100,1k)", "1k+"];
  const userRows: string[] = [USER_HEADER];
  for (let u = 0; u < users; u++) {
    if (rng.uniform() < 0.1) continue; // no feature row: the loader gives this user empty features
    const level = activity[u] as number;
    const degree = degrees[level === 0 ? 3 : level > 1.4 ? 0 : level > 0.8 ? 1 : 2] as string;
    const follows = rng.int(600);
    const fans = rng.int(200);
    const friends = rng.int(50);
    const registered = 10 + rng.int(1500);
    const onehot = Array.from({ length: 18 }, (_, f) => (f === 4 && rng.uniform() < 0.2 ? "" : String(f === 0 ? userCluster[u] : rng.int(f < 6 ? 4 : 2))));
    userRows.push([u, degree, rng.int(2), rng.int(2), rng.int(2), follows, `"${ranges[rng.int(ranges.length)]}"`, fans, `"${ranges[rng.int(ranges.length)]}"`, friends, `"${ranges[rng.int(ranges.length)]}"`, registered, registered > 365 ? "730+" : "91-180", ...onehot].join(","));
  }

  // --- impressions: mostly the user's cluster, by popularity; labels from cluster match, popularity and bias ---
  const byCluster = Array.from({ length: CLUSTERS }, (_, c) => Int32Array.from({ length: items }, (_, i) => i).filter((i) => itemCluster[i] === c));
  const cumulative = (pool: Int32Array) => {
    const sums = new Float64Array(pool.length);
    let sum = 0;
    pool.forEach((item, k) => (sums[k] = sum += popularity[item] as number));
    return sums;
  };
  const clusterSums = byCluster.map(cumulative);
  const everyItem = Int32Array.from({ length: items }, (_, i) => i);
  const allSums = cumulative(everyItem);
  const draw = (pool: Int32Array, sums: Float64Array) => {
    const target = rng.uniform() * (sums[sums.length - 1] as number);
    let lo = 0;
    let hi = sums.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sums[mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    return pool[lo] as number;
  };
  const bernoulli = (p: number) => (rng.uniform() < p ? 1 : 0);
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const logRows: string[] = [LOG_HEADER];
  const shows = new Float64Array(items);
  const negatives = new Float64Array(items);
  for (let day = 0; day < days; day++) {
    for (let u = 0; u < users; u++) {
      const level = activity[u] as number;
      // inactive users appear once, on one day, and never engage: they have no history
      const count = level === 0 ? (day === u % days ? 1 : 0) : Math.round(options.impressionsPerUserDay * level * (0.5 + rng.uniform()));
      for (let k = 0; k < count; k++) {
        const cluster = userCluster[u] as number;
        const own = (byCluster[cluster] as Int32Array).length > 0 && rng.uniform() < 0.6;
        const item = own ? draw(byCluster[cluster] as Int32Array, clusterSums[cluster] as Float64Array) : draw(everyItem, allSums);
        const match = itemCluster[item] === cluster ? 1 : 0;
        const click = level === 0 ? 0 : bernoulli(sigmoid(-1.6 + 2.2 * match + 8 * (popularity[item] as number) + (clickBias[u] as number)));
        const longView = click ? bernoulli(0.35 + 0.3 * match) : 0;
        const like = click ? bernoulli(0.05 + 0.2 * match) : 0;
        const comment = click ? bernoulli(0.04) : 0;
        const forward = click ? bernoulli(0.03) : 0;
        const follow = click ? bernoulli(0.02 + 0.04 * match) : 0;
        const hate = bernoulli(match ? 0.005 : 0.03);
        const hour = 7 + rng.int(17);
        const ts = SYNTHETIC_FIRST_DAY_MS + day * DAY_MS + hour * 3_600_000 + rng.int(3_600_000);
        const tab = rng.uniform() < 0.75 ? 1 : rng.uniform() < 0.6 ? 0 : 4;
        const duration = durationMs[item] as number;
        const date = new Date(ts + 8 * 3_600_000);
        const ymd = date.toISOString().slice(0, 10).replaceAll("-", "");
        const hourmin = date.getUTCHours() * 100;
        const play = click ? Math.round((duration > 0 ? duration : 20_000) * (longView ? 0.9 : 0.2)) : 0;
        shows[item] = (shows[item] as number) + 1;
        negatives[item] = (negatives[item] as number) + hate;
        logRows.push([u, item, ymd, hourmin, ts, click, like, follow, comment, forward, hate, longView, play, Math.max(duration, 0), 0, 0, 0, 0, tab].join(","));
      }
    }
  }
  // KuaiRand's rows are not time-ordered; keep that property so the loader's sort is exercised
  const body = logRows.slice(1);
  rng.shuffle(body);

  const statRows = [STAT_HEADER, ...Array.from({ length: items }, (_, i) => [i, 1, (shows[i] as number) * 10 + 1, (shows[i] as number) * 8 + 1, negatives[i], rng.int(3)].join(","))];
  return {
    "log_standard.csv": [LOG_HEADER, ...body].join("\n"),
    "user_features.csv": userRows.join("\n"),
    "video_features_basic.csv": itemRows.join("\n"),
    "video_features_statistic.csv": statRows.join("\n"),
  };
}

/** Writes the files into `directory` (created if needed). */
export async function writeSyntheticKuaiRand(directory: string, options: Partial<SyntheticKuaiRandOptions> = {}): Promise<void> {
  await mkdir(directory, { recursive: true });
  for (const [name, text] of Object.entries(syntheticKuaiRandFiles(options))) await writeFile(join(directory, name), `${text}\n`);
}

/** The local date (YYYYMMDD) of day `index` of the synthetic log. */
export function syntheticDay(index: number): string {
  return new Date(SYNTHETIC_FIRST_DAY_MS + 8 * 3_600_000 + index * DAY_MS).toISOString().slice(0, 10).replaceAll("-", "");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { out: { type: "string" }, users: { type: "string" }, items: { type: "string" }, days: { type: "string" }, seed: { type: "string" } }, strict: true });
  if (!values.out) throw new Error("usage: npx tsx scripts/models/synthetic-kuairand.ts --out <dir> [--users N] [--items N] [--days N] [--seed N]");
  const options: Partial<SyntheticKuaiRandOptions> = Object.fromEntries(
    (["users", "items", "days", "seed"] as const).flatMap((name) => (values[name] === undefined ? [] : [[name, Number(values[name])]])),
  );
  await writeSyntheticKuaiRand(values.out, options);
  console.log(`wrote a synthetic KuaiRand-shaped data set to ${values.out}`);
}
