import { DurableObject } from "cloudflare:workers";
import type { ArmEvent } from "../../core/experiments/attribute";
import { INTERACTION_TYPES, isInteractionType, type InteractionType } from "../../core/realtime/events";

/** At most this many events per `record` call (the HTTP batch limit). */
export const EXPERIMENT_RECORD_LIMIT = 1_000;

/**
 * How many recent events the counter remembers to recognise a retry. A retried batch comes minutes after the first
 * try; beyond this many events since, a resent event would count twice. A million ids is ~60 MB of SQLite.
 */
export const EXPERIMENT_REMEMBERED_EVENTS = 1_000_000;

/** The object that counts the experiment named `name`: one per experiment, so its counts never mix with another's. */
export function experimentCounterStub(env: Env, name: string): DurableObjectStub<ExperimentCounter> {
  return env.EXPERIMENTS.get(env.EXPERIMENTS.idFromName(`experiment-${name}`));
}

export interface RecordResult {
  readonly counted: number;
  readonly duplicates: number;
}

/** What one arm has counted. */
export interface ArmCounts {
  readonly arm: string;
  readonly users: number;
  readonly events: Readonly<Record<InteractionType, number>>;
}

export interface ExperimentCounts {
  readonly countedEvents: number;
  readonly arms: readonly ArmCounts[];
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS counted_events (user_id TEXT NOT NULL, event_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (user_id, event_id));
  CREATE INDEX IF NOT EXISTS counted_by_arrival ON counted_events (seq);
  CREATE TABLE IF NOT EXISTS arm_users (arm TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (arm, user_id));
  CREATE TABLE IF NOT EXISTS arm_events (arm TEXT NOT NULL, type TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (arm, type));
`;

/**
 * One experiment's counts: per arm, its users and its events by type. The Worker sends every event of a batch,
 * already under its user's arm, and the object counts each (user, event_id) once — so a batch retried after any
 * failure completes the counts instead of doubling them. Counters rather than events are kept: the report is a few
 * reads whatever the traffic. A user whose arm changed (the experiment's weights were edited) counts in both arms.
 */
export class ExperimentCounter extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
  }

  record(experiment: string, events: readonly ArmEvent[]): RecordResult {
    if (typeof experiment !== "string" || experiment.length === 0) throw new TypeError("experiment counter: record takes the experiment's name");
    if (!Array.isArray(events as unknown)) throw new TypeError("experiment counter: record takes an array of events");
    if (events.length > EXPERIMENT_RECORD_LIMIT) throw new RangeError(`experiment counter: at most ${EXPERIMENT_RECORD_LIMIT} events per call, got ${events.length}`);
    events.forEach((event, i) => {
      for (const field of ["event_id", "user_id", "arm"] as const) {
        if (typeof event?.[field] !== "string" || event[field].length === 0) throw new TypeError(`experiment counter: record[${i}].${field} must be a non-empty string`);
      }
      if (typeof event.type !== "string" || !isInteractionType(event.type)) throw new TypeError(`experiment counter: record[${i}].type ${JSON.stringify(event.type)} is not an interaction type`);
    });
    return this.ctx.storage.transactionSync(() => {
      this.claim(experiment);
      let seq = Number(this.meta("next_seq") ?? "1");
      let counted = 0;
      let duplicates = 0;
      for (const event of events) {
        const known = this.sql.exec("SELECT 1 FROM counted_events WHERE user_id = ? AND event_id = ?", event.user_id, event.event_id).toArray().length > 0;
        if (known) {
          duplicates++;
          continue;
        }
        this.sql.exec("INSERT INTO counted_events (user_id, event_id, seq) VALUES (?, ?, ?)", event.user_id, event.event_id, seq++);
        this.sql.exec("INSERT OR IGNORE INTO arm_users (arm, user_id) VALUES (?, ?)", event.arm, event.user_id);
        this.sql.exec("INSERT INTO arm_events (arm, type, count) VALUES (?, ?, 1) ON CONFLICT (arm, type) DO UPDATE SET count = count + 1", event.arm, event.type);
        counted++;
      }
      this.setMeta("next_seq", String(seq));
      this.setMeta("counted", String(Number(this.meta("counted") ?? "0") + counted));
      this.sql.exec("DELETE FROM counted_events WHERE seq <= ?", seq - 1 - EXPERIMENT_REMEMBERED_EVENTS);
      return { counted, duplicates };
    });
  }

  counts(): ExperimentCounts {
    const events = new Map<string, Record<InteractionType, number>>();
    const zero = () => Object.fromEntries(INTERACTION_TYPES.map((type) => [type, 0])) as Record<InteractionType, number>;
    for (const row of this.sql.exec<{ arm: string; type: string; count: number }>("SELECT arm, type, count FROM arm_events").toArray()) {
      let byType = events.get(row.arm);
      if (byType === undefined) events.set(row.arm, (byType = zero()));
      if (isInteractionType(row.type)) byType[row.type] = row.count;
    }
    const users = new Map(this.sql.exec<{ arm: string; users: number }>("SELECT arm, COUNT(*) AS users FROM arm_users GROUP BY arm").toArray().map((row) => [row.arm, row.users]));
    const arms = [...new Set([...events.keys(), ...users.keys()])].sort().map((arm) => ({ arm, users: users.get(arm) ?? 0, events: events.get(arm) ?? zero() }));
    return { countedEvents: Number(this.meta("counted") ?? "0"), arms };
  }

  /** Guards against routing bugs: an object counts the one experiment it was first asked to. */
  private claim(experiment: string): void {
    const owner = this.meta("experiment") ?? experiment;
    if (owner !== experiment) throw new Error(`experiment counter: this object counts ${JSON.stringify(owner)}, got ${JSON.stringify(experiment)}`);
    this.setMeta("experiment", owner);
  }

  private meta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value);
  }
}
