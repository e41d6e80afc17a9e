import { z } from "zod";
import { MAX_EPOCH_MS } from "../data/dataset";

/**
 * A live item: one row of the generic format's items.csv (data/FORMAT.md) sent through `PUT /v1/items` instead of a
 * bundle. Tags are a list here (items.csv joins them with `|`, so a tag cannot hold one); `created_at` and `duration`
 * are null when unknown, as an empty cell is in the file.
 */
export interface LiveItemRecord {
  readonly item_id: string;
  readonly author_id: string;
  readonly tags: readonly string[];
  readonly created_at: number | null;
  readonly duration: number | null;
  readonly type: string;
  readonly integrity: number;
}

/** How many live items (upserted items the active bundle does not hold) the delta keeps at most; see README "Live items". */
export const MAX_LIVE_ITEMS = 10_000;
/** How many items one `PUT /v1/items` may carry: a batch is embedded and stored in one request. */
export const MAX_UPSERT_BATCH = 500;
/**
 * How many takedowns the delta keeps at most (each is an id; they outlive bundle switches). Every feed request leaves
 * them all out by id, so the bound is also a bound on that per-request work.
 */
export const MAX_TAKEDOWNS = 10_000;

/** No control, format or unassigned characters, and no surrounding whitespace; the same rule as the API's other ids. */
const PRINTABLE_TEXT = /^[^\p{C}\s](?:[^\p{C}]*[^\p{C}\s])?$/u;
const text = (max: number) => z.string().min(1).max(max).regex(PRINTABLE_TEXT, { error: "must be printable, without surrounding whitespace" });

export const liveItemSchema = z.strictObject({
  item_id: text(64).meta({ description: "The item's id; an id the active bundle already holds keeps its bundle row and takes only `integrity` from here." }),
  author_id: text(64).meta({ description: "Must be an author of the active bundle's catalogue (an author's embedding comes from training)." }),
  tags: z
    .array(text(64).refine((tag) => !tag.includes("|"), { error: "must not contain | (items.csv separates tags with it)" }))
    .max(64)
    .default([])
    .meta({ description: "Topic tags; tags the bundle does not know are kept for the next bundle but carry no feature until then." }),
  created_at: z.number().int().min(-MAX_EPOCH_MS).max(MAX_EPOCH_MS).nullable().meta({ description: "Milliseconds since the epoch (negative before 1970), or null when unknown." }),
  duration: z.number().min(0).max(MAX_EPOCH_MS).nullable().meta({ description: "Non-negative milliseconds, or null when unknown (a photo, say)." }),
  type: text(32).meta({ description: "`photo`, `video`, …; a type the bundle does not know counts as unknown for the models." }),
  integrity: z.number().min(0).max(1).meta({ description: "The upstream integrity classifier's score in [0, 1]: 1 is clean." }),
});

/** Serialises a record as an items.csv line (data/FORMAT.md), for the next bundle's pipeline. */
export function itemsCsvLine(record: LiveItemRecord): string {
  const cells = [record.item_id, record.author_id, record.tags.join("|"), record.created_at === null ? "" : String(record.created_at), record.duration === null ? "" : String(record.duration), record.type, String(record.integrity)];
  return cells.map(csvCell).join(",");
}

export const ITEMS_CSV_HEADER = "item_id,author_id,tags,created_at,duration,type,integrity";

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
