import { DurableObject } from "cloudflare:workers";
import type { DeltaEntry } from "../../core/live-items/catalogue";
import { MAX_LIVE_ITEMS, MAX_TAKEDOWNS, MAX_UPSERT_BATCH, type LiveItemRecord } from "../../core/live-items/record";

/** The one object that holds the live delta (every isolate reads the same): `PUT/DELETE /v1/items` write it. */
export function itemDeltaStub(env: Env): DurableObjectStub<ItemDelta> {
  return env.ITEM_DELTA.get(env.ITEM_DELTA.idFromName("item-delta"));
}

/** An entry with where it stands in the delta: `seq` orders first upserts (live rows keep that order). */
export interface SyncedEntry extends DeltaEntry {
  readonly seq: number;
}

/**
 * What changed since the version an isolate holds. `epoch` names the object's storage: a reader whose epoch differs
 * (the storage was reset, or it never read) gets everything (`full`), otherwise only entries changed since `since`.
 */
export interface DeltaSync {
  readonly epoch: string;
  readonly version: number;
  readonly full: boolean;
  readonly entries: readonly SyncedEntry[];
}

/** What an upsert did; `ok: false` when the batch would take the live items over `limit` (nothing was stored). */
export interface UpsertResult {
  readonly ok: boolean;
  readonly version: number;
  readonly inserted: number;
  readonly updated: number;
  /** Live items in the delta after the batch (before it, when refused). */
  readonly liveItems: number;
  readonly limit: number;
  /** Live items the batch would have made. */
  readonly wouldBe: number;
}

/** What a takedown did; `ok: false` when the delta holds `limit` takedowns already. */
export interface TakedownResult {
  readonly ok: boolean;
  readonly version: number;
  readonly wasLive: boolean;
  readonly limit: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    record TEXT,
    in_bundle INTEGER NOT NULL DEFAULT 0,
    taken_down INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL,
    version INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS items_by_version ON items (version);
`;

/**
 * The live delta since the bundle: items upserted through `PUT /v1/items` and takedowns (`DELETE /v1/items/{id}`),
 * in SQLite, with a version that every change increments. Isolates ask `sync(epoch, version)` on every feed request:
 * an unchanged delta answers with no entries (one small RPC), a changed one with only what changed. Nothing here
 * depends on a bundle, so the delta survives a bundle switch as it is; each isolate applies it to the bundle it serves
 * (core/live-items/catalogue.ts). The live items (upserted ids the bundle did not hold when they came) are bounded by
 * MAX_LIVE_ITEMS: the next bundle folds them in (README "Live items").
 */
export class ItemDelta extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private version: number;
  private readonly epoch: string;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    this.version = Number(this.meta("version") ?? "0");
    let epoch = this.meta("epoch");
    if (epoch === undefined) {
      epoch = crypto.randomUUID();
      this.sql.exec("INSERT INTO meta (key, value) VALUES ('epoch', ?)", epoch);
    }
    this.epoch = epoch;
  }

  /** What changed since `version` of `epoch` (everything when the epoch is another). */
  sync(epoch: string | null, version: number): DeltaSync {
    if (epoch === this.epoch && version === this.version) return { epoch: this.epoch, version: this.version, full: false, entries: [] };
    const full = epoch !== this.epoch || version > this.version;
    const rows = full
      ? this.sql.exec<EntryRow>("SELECT item_id, record, taken_down, seq FROM items ORDER BY seq").toArray()
      : this.sql.exec<EntryRow>("SELECT item_id, record, taken_down, seq FROM items WHERE version > ? ORDER BY seq", version).toArray();
    return { epoch: this.epoch, version: this.version, full, entries: rows.map(entryOf) };
  }

  /**
   * Upserts a validated batch; `inBundle` flags the ids the active bundle holds (they do not count as live items).
   * Refuses the whole batch, storing nothing, when the live items would exceed MAX_LIVE_ITEMS. An upsert of a
   * taken-down id puts it back: it is an operator's explicit act.
   */
  upsert(records: readonly LiveItemRecord[], inBundle: readonly boolean[]): UpsertResult {
    if (!Array.isArray(records as unknown) || records.length > MAX_UPSERT_BATCH || inBundle.length !== records.length) throw new RangeError(`item delta: upsert takes up to ${MAX_UPSERT_BATCH} records and a flag for each`);
    return this.ctx.storage.transactionSync((): UpsertResult => {
      const liveItems = this.liveItemCount();
      let added = 0;
      const existing = new Map<string, { inBundle: boolean }>();
      for (const record of records) {
        const row = this.sql.exec<{ in_bundle: number; record: string | null }>("SELECT in_bundle, record FROM items WHERE item_id = ?", record.item_id).toArray()[0];
        if (row && row.record !== null) existing.set(record.item_id, { inBundle: row.in_bundle === 1 });
      }
      records.forEach((record, i) => {
        if (!existing.has(record.item_id) && !inBundle[i]) added++;
      });
      if (liveItems + added > MAX_LIVE_ITEMS) return { ok: false, version: this.version, inserted: 0, updated: 0, liveItems, limit: MAX_LIVE_ITEMS, wouldBe: liveItems + added };
      const version = this.version + 1;
      let seq = Number(this.meta("next_seq") ?? "1");
      records.forEach((record, i) => {
        this.sql.exec(
          `INSERT INTO items (item_id, record, in_bundle, taken_down, seq, version) VALUES (?, ?, ?, 0, ?, ?)
           ON CONFLICT (item_id) DO UPDATE SET record = excluded.record, in_bundle = CASE WHEN items.record IS NULL THEN excluded.in_bundle ELSE items.in_bundle END, taken_down = 0, version = excluded.version`,
          record.item_id,
          JSON.stringify(record),
          inBundle[i] ? 1 : 0,
          seq++,
          version,
        );
      });
      this.setMeta("next_seq", String(seq));
      this.bump(version);
      return { ok: true, version, inserted: records.length - existing.size, updated: existing.size, liveItems: liveItems + added, limit: MAX_LIVE_ITEMS, wouldBe: liveItems + added };
    });
  }

  /** Takes an id down: a live item or a bundle item alike; every isolate leaves it out from its next request on. */
  takeDown(itemId: string): TakedownResult {
    return this.ctx.storage.transactionSync((): TakedownResult => {
      const row = this.sql.exec<{ record: string | null; taken_down: number }>("SELECT record, taken_down FROM items WHERE item_id = ?", itemId).toArray()[0];
      if (row && row.taken_down === 1) return { ok: true, version: this.version, wasLive: row.record !== null, limit: MAX_TAKEDOWNS };
      const takedowns = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM items WHERE taken_down = 1").one().n;
      if (takedowns >= MAX_TAKEDOWNS) return { ok: false, version: this.version, wasLive: false, limit: MAX_TAKEDOWNS };
      const version = this.version + 1;
      if (row) this.sql.exec("UPDATE items SET taken_down = 1, version = ? WHERE item_id = ?", version, itemId);
      else {
        const seq = Number(this.meta("next_seq") ?? "1");
        this.sql.exec("INSERT INTO items (item_id, record, in_bundle, taken_down, seq, version) VALUES (?, NULL, 1, 1, ?, ?)", itemId, seq, version);
        this.setMeta("next_seq", String(seq + 1));
      }
      this.bump(version);
      return { ok: true, version, wasLive: row !== undefined && row.record !== null, limit: MAX_TAKEDOWNS };
    });
  }

  /**
   * Marks upserted ids that a bundle now holds (the next bundle folded them in): they stop counting as live items, so
   * the limit frees up; their records stay (an integrity from the upsert still applies, and an isolate still on an
   * older bundle still serves them) and so do takedowns. Changes no entry an isolate reads, so the version stays.
   */
  markFolded(itemIds: readonly string[]): { readonly folded: number; readonly liveItems: number } {
    if (!Array.isArray(itemIds as unknown)) throw new TypeError("item delta: markFolded takes an array of ids");
    return this.ctx.storage.transactionSync(() => {
      let folded = 0;
      for (const itemId of itemIds) folded += this.sql.exec("UPDATE items SET in_bundle = 1 WHERE item_id = ? AND record IS NOT NULL AND in_bundle = 0", itemId).rowsWritten;
      return { folded, liveItems: this.liveItemCount() };
    });
  }

  /** Whether the delta knows the id (upserted or taken down). */
  has(itemId: string): boolean {
    return this.sql.exec("SELECT 1 FROM items WHERE item_id = ?", itemId).toArray().length > 0;
  }

  private liveItemCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM items WHERE record IS NOT NULL AND in_bundle = 0").one().n;
  }

  private bump(version: number): void {
    this.version = version;
    this.setMeta("version", String(version));
  }

  private meta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }
}

type EntryRow = { item_id: string; record: string | null; taken_down: number; seq: number } & Record<string, SqlStorageValue>;

function entryOf(row: EntryRow): SyncedEntry {
  return { item_id: row.item_id, record: row.record === null ? null : (JSON.parse(row.record) as LiveItemRecord), taken_down: row.taken_down === 1, seq: row.seq };
}
