import { CsvColumns, parseCsv, type CsvRow } from "./csv";
import { UNKNOWN, isKnown, type Dataset } from "./dataset";
import { EventTableBuilder, UserTableBuilder, buildItemTable, type ItemRecord } from "./builders";
import { DataError } from "./errors";
import type { Label } from "./labels";
import type { DataSource } from "./source";

/**
 * Adapter from KuaiRand (https://kuairand.com, CC BY-SA 4.0) into the generic data set.
 * A directory holds one or more `log_*.csv` exposure logs plus the user and video feature files.
 */
export const KUAIRAND_FILES = {
  users: "user_features.csv",
  items: "video_features_basic.csv",
  itemStatistics: "video_features_statistic.csv",
} as const;

/** KuaiRand's local time is China Standard Time; its `date` column is the local date. */
const CHINA_STANDARD_TIME_MINUTES = 8 * 60;

/** `tab` 1 is KuaiRand's main feed, the surface closest to Instagram's Home. */
const KUAIRAND_HOME_SURFACES = [1];

const LOG_COLUMNS = [
  "user_id", "video_id", "date", "hourmin", "time_ms", "is_click", "is_like", "is_follow", "is_comment", "is_forward",
  "is_hate", "long_view", "play_time_ms", "duration_ms", "profile_stay_time", "comment_stay_time", "is_profile_enter",
  "is_rand", "tab",
] as const;

const LABEL_COLUMNS: Readonly<Record<Label, string>> = {
  click: "is_click",
  long_view: "long_view",
  like: "is_like",
  comment: "is_comment",
  forward: "is_forward",
  follow: "is_follow",
  hate: "is_hate",
};

const ITEM_COLUMNS = [
  "video_id", "author_id", "video_type", "upload_dt", "upload_type", "visible_status", "video_duration",
  "server_width", "server_height", "music_id", "music_type", "tag",
] as const;

const USER_CATEGORICAL = [
  "user_active_degree", "is_lowactive_period", "is_live_streamer", "is_video_author", "follow_user_num_range",
  "fans_user_num_range", "friend_user_num_range", "register_days_range",
  ...Array.from({ length: 18 }, (_, i) => `onehot_feat${i}`),
];
const USER_NUMERIC = ["follow_user_num", "fans_user_num", "friend_user_num", "register_days"];

const STATISTIC_COLUMNS_USED = ["video_id", "show_user_num", "report_user_num", "reduce_similar_user_num"];

export function isKuaiRand(files: readonly string[]): boolean {
  return files.includes(KUAIRAND_FILES.items) && files.some((name) => /^log_.*\.csv$/.test(name));
}

export async function loadKuaiRand(source: DataSource, name = "kuairand"): Promise<Dataset> {
  const files = await source.list();
  const logs = files.filter((file) => /^log_.*\.csv$/.test(file)).sort();
  if (logs.length === 0) throw new DataError(source.location, undefined, undefined, "no log_*.csv file: a KuaiRand directory needs at least one exposure log");
  for (const required of Object.values(KUAIRAND_FILES)) {
    if (!files.includes(required)) throw new DataError(`${source.location}/${required}`, undefined, undefined, "missing file (also looked for .csv.gz)");
  }

  const notes: string[] = [];
  const integrity = await readIntegrity(source);
  const items = await readItems(source, integrity);
  const users = await readUsers(source);

  const labels = Object.keys(LABEL_COLUMNS) as Label[];
  const events = new EventTableBuilder(labels);
  for (const log of logs) {
    const { file, text } = await source.read(log);
    const columns = new CsvColumns(parseCsv(file, text), LOG_COLUMNS);
    for (const row of columns.table.rows()) {
      const itemRow = items.ids.get(columns.nonEmpty(row, "video_id"));
      if (itemRow === undefined) throw columns.error(row, "video_id", `video ${columns.string(row, "video_id")} is not in ${KUAIRAND_FILES.items}`);
      const userRow = users.rowFor(columns.nonEmpty(row, "user_id"));
      const ts = columns.epochMs(row, "time_ms");
      events.add(userRow, itemRow, ts, columns.integer(row, "tab"), (label) => columns.flag(row, LABEL_COLUMNS[label]));
    }
  }
  const userTable = users.build();
  const featureless = userTable.hasFeatures.length - userTable.hasFeatures.reduce((sum, has) => sum + has, 0);
  if (featureless > 0) notes.push(`${featureless} users in the logs have no row in ${KUAIRAND_FILES.users}; they get empty features`);

  return {
    name,
    timezoneOffsetMinutes: CHINA_STANDARD_TIME_MINUTES,
    homeSurfaces: KUAIRAND_HOME_SURFACES,
    labels,
    events: events.build(),
    items,
    users: userTable,
    notes,
  };
}

async function readItems(source: DataSource, integrity: ReadonlyMap<string, number>) {
  const { file, text } = await source.read(KUAIRAND_FILES.items);
  const columns = new CsvColumns(parseCsv(file, text), ITEM_COLUMNS);
  const records: ItemRecord[] = [];
  const seen = new Set<string>();
  for (const row of columns.table.rows()) {
    const id = columns.nonEmpty(row, "video_id");
    if (seen.has(id)) throw columns.error(row, "video_id", `video ${id} appears twice`);
    seen.add(id);
    const tagText = columns.string(row, "tag").trim();
    const durationMs = columns.optionalNumber(row, "video_duration", UNKNOWN);
    if (isKnown(durationMs) && durationMs < 0) throw columns.error(row, "video_duration", `${durationMs} is negative: must be non-negative milliseconds, or empty`);
    records.push({
      id,
      author: columns.nonEmpty(row, "author_id"),
      tags: tagText === "" ? [] : tagText.split(",").map((tag) => tag.trim()),
      createdAt: localDateToMs(columns, row, "upload_dt"),
      durationMs,
      type: columns.nonEmpty(row, "video_type"),
      integrity: integrity.get(id) ?? 1,
    });
  }
  return buildItemTable(records);
}

function localDateToMs(columns: CsvColumns, row: CsvRow, name: string): number {
  const raw = columns.nonEmpty(row, name);
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  if (!match) throw columns.error(row, name, `"${raw}" is not a YYYY-MM-DD date`);
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) - CHINA_STANDARD_TIME_MINUTES * 60_000;
  // Dates before 1970 are fine: they are negative milliseconds.
  if (!Number.isFinite(ms)) throw columns.error(row, name, `"${raw}" is not a valid date`);
  return ms;
}

/**
 * KuaiRand has no integrity classifier, but its whole-period report and "reduce similar" counts stand in for
 * one (the ranker receives the score; it does not learn it). The score is 1 minus the percentile of the
 * item's negative-feedback rate per viewer, so 1 is the cleanest item and the threshold reads as a quantile.
 */
async function readIntegrity(source: DataSource): Promise<Map<string, number>> {
  const { file, text } = await source.read(KUAIRAND_FILES.itemStatistics);
  const columns = new CsvColumns(parseCsv(file, text), STATISTIC_COLUMNS_USED, { allowUnknown: true });
  const rates: { id: string; rate: number }[] = [];
  for (const row of columns.table.rows()) {
    const viewers = columns.number(row, "show_user_num");
    const negative = columns.number(row, "report_user_num") + columns.number(row, "reduce_similar_user_num");
    if (viewers < 0 || negative < 0) throw columns.error(row, undefined, "counters must be non-negative");
    rates.push({ id: columns.nonEmpty(row, "video_id"), rate: negative / Math.max(viewers, 1) });
  }
  rates.sort((a, b) => a.rate - b.rate);
  const integrity = new Map<string, number>();
  // Equal rates share a percentile, so ties never split arbitrarily across a threshold.
  let start = 0;
  while (start < rates.length) {
    let end = start;
    while (end + 1 < rates.length && (rates[end + 1] as { rate: number }).rate === (rates[start] as { rate: number }).rate) end++;
    const percentile = rates.length > 1 ? (start + end) / 2 / (rates.length - 1) : 0;
    for (let i = start; i <= end; i++) integrity.set((rates[i] as { id: string }).id, 1 - percentile);
    start = end + 1;
  }
  return integrity;
}

async function readUsers(source: DataSource): Promise<UserTableBuilder> {
  const { file, text } = await source.read(KUAIRAND_FILES.users);
  const columns = new CsvColumns(parseCsv(file, text), ["user_id", ...USER_CATEGORICAL, ...USER_NUMERIC]);
  const users = new UserTableBuilder({ categorical: USER_CATEGORICAL, numeric: USER_NUMERIC });
  for (const row of columns.table.rows()) {
    const id = columns.nonEmpty(row, "user_id");
    const added = users.addWithFeatures(
      id,
      USER_CATEGORICAL.map((name) => columns.string(row, name).trim()),
      USER_NUMERIC.map((name) => columns.number(row, name)),
    );
    if (!added) throw columns.error(row, "user_id", `user ${id} appears twice`);
  }
  return users;
}
