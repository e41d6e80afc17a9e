import { z } from "zod";
import { CsvColumns, parseCsv } from "./csv";
import { UNKNOWN, isKnown, type Dataset } from "./dataset";
import { EventTableBuilder, UserTableBuilder, buildItemTable, type ItemRecord } from "./builders";
import { DataError } from "./errors";
import { LABELS, type Label } from "./labels";
import type { DataSource } from "./source";

/**
 * The generic data set format that users convert their own data into (documented in data/FORMAT.md):
 * `dataset.json`, `events.csv`, `items.csv` and `users.csv`, each CSV optionally gzipped.
 */
export const GENERIC_FILES = {
  manifest: "dataset.json",
  events: "events.csv",
  items: "items.csv",
  users: "users.csv",
} as const;

export const GENERIC_FORMAT = "explore-edge-ranker/dataset@1";

const manifestSchema = z.strictObject({
  format: z.literal(GENERIC_FORMAT),
  name: z.string().min(1),
  timezone_offset_minutes: z.number().int().min(-14 * 60).max(14 * 60).default(0),
  home_surfaces: z.array(z.number().int()).default([]),
  user_features: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.enum(["categorical", "numeric"])).default({}),
});
export type GenericManifest = z.infer<typeof manifestSchema>;

const EVENT_COLUMNS = ["user_id", "item_id", "ts", "surface", "click"] as const;
const ITEM_COLUMNS = ["item_id", "author_id", "tags", "created_at", "duration", "type", "integrity"] as const;

export function isGeneric(files: readonly string[]): boolean {
  return files.includes(GENERIC_FILES.manifest);
}

export async function loadGeneric(source: DataSource): Promise<Dataset> {
  const files = await source.list();
  for (const required of Object.values(GENERIC_FILES)) {
    if (!files.includes(required)) throw new DataError(`${source.location}/${required}`, undefined, undefined, "missing file (also looked for .csv.gz)");
  }
  const manifestFile = await source.read(GENERIC_FILES.manifest);
  const manifest = parseManifest(manifestFile.file, manifestFile.text);

  const itemsFile = await source.read(GENERIC_FILES.items);
  const itemColumns = new CsvColumns(parseCsv(itemsFile.file, itemsFile.text), ITEM_COLUMNS);
  const itemRecords: ItemRecord[] = [];
  const seenItems = new Set<string>();
  for (const row of itemColumns.table.rows()) {
    const id = itemColumns.nonEmpty(row, "item_id");
    if (seenItems.has(id)) throw itemColumns.error(row, "item_id", `item ${id} appears twice`);
    seenItems.add(id);
    const integrity = itemColumns.number(row, "integrity");
    if (integrity < 0 || integrity > 1) throw itemColumns.error(row, "integrity", `${integrity} is outside [0, 1]`);
    const tags = itemColumns.string(row, "tags").trim();
    // Any time is valid, before 1970 too (old films, say): empty is the only way to say "unknown".
    const createdAt = itemColumns.optionalEpochMs(row, "created_at");
    const duration = itemColumns.optionalNumber(row, "duration", UNKNOWN);
    if (isKnown(duration) && duration < 0) throw itemColumns.error(row, "duration", `${duration} is negative: must be non-negative milliseconds, or empty`);
    itemRecords.push({
      id,
      author: itemColumns.nonEmpty(row, "author_id"),
      tags: tags === "" ? [] : tags.split("|").map((tag) => tag.trim()),
      createdAt,
      durationMs: duration,
      type: itemColumns.string(row, "type").trim(),
      integrity,
    });
  }
  const items = buildItemTable(itemRecords);

  const categorical = Object.entries(manifest.user_features).filter(([, kind]) => kind === "categorical").map(([name]) => name);
  const numeric = Object.entries(manifest.user_features).filter(([, kind]) => kind === "numeric").map(([name]) => name);
  const usersFile = await source.read(GENERIC_FILES.users);
  const userColumns = new CsvColumns(parseCsv(usersFile.file, usersFile.text), ["user_id", ...categorical, ...numeric]);
  const users = new UserTableBuilder({ categorical, numeric });
  for (const row of userColumns.table.rows()) {
    const id = userColumns.nonEmpty(row, "user_id");
    const added = users.addWithFeatures(
      id,
      categorical.map((name) => userColumns.string(row, name).trim()),
      numeric.map((name) => userColumns.number(row, name)),
    );
    if (!added) throw userColumns.error(row, "user_id", `user ${id} appears twice`);
  }

  const eventsFile = await source.read(GENERIC_FILES.events);
  const eventTable = parseCsv(eventsFile.file, eventsFile.text);
  const optionalLabels = LABELS.filter((label) => label !== "click");
  const eventColumns = new CsvColumns(eventTable, EVENT_COLUMNS, { optional: optionalLabels });
  const labels = LABELS.filter((label) => eventColumns.has(label));
  const events = new EventTableBuilder(labels);
  for (const row of eventColumns.table.rows()) {
    const itemRow = items.ids.get(eventColumns.nonEmpty(row, "item_id"));
    if (itemRow === undefined) throw eventColumns.error(row, "item_id", `item ${eventColumns.string(row, "item_id")} is not in ${itemsFile.file}`);
    const ts = eventColumns.epochMs(row, "ts");
    const userRow = users.rowFor(eventColumns.nonEmpty(row, "user_id"));
    events.add(userRow, itemRow, ts, eventColumns.integer(row, "surface"), (label: Label) => eventColumns.flag(row, label));
  }

  const notes: string[] = [];
  const missingLabels = LABELS.filter((label) => !labels.includes(label));
  if (missingLabels.length > 0) notes.push(`${eventsFile.file} has no column for ${missingLabels.join(", ")}: those labels are not trained or measured`);
  const userTable = users.build();
  const featureless = userTable.hasFeatures.length - userTable.hasFeatures.reduce((sum, has) => sum + has, 0);
  if (featureless > 0) notes.push(`${featureless} users in ${eventsFile.file} have no row in ${usersFile.file}; they get empty features`);

  return {
    name: manifest.name,
    timezoneOffsetMinutes: manifest.timezone_offset_minutes,
    homeSurfaces: manifest.home_surfaces,
    labels,
    events: events.build(),
    items,
    users: userTable,
    notes,
  };
}

function parseManifest(file: string, text: string): GenericManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DataError(file, undefined, undefined, `not valid JSON: ${(error as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || undefined;
    throw new DataError(file, undefined, field, issue?.message ?? "invalid manifest");
  }
  return parsed.data;
}
