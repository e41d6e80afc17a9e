/**
 * Where the event log's objects go. The outbox (worker/state/event-outbox.ts) only needs `put`; the interface keeps
 * R2 out of its logic, and gives the tests a seam to make the write fail or "crash" after it.
 */
export interface EventLogStore {
  /** Writes `body` under `key`, replacing what is there; resolves only once the object is durable. */
  put(key: string, body: string): Promise<void>;
}

/** The R2 bucket bound as `EVENT_LOG`, or null when the binding is missing (the outbox then keeps the events). */
export function eventLogStore(env: Pick<Env, "EVENT_LOG">): EventLogStore | null {
  const bucket = env.EVENT_LOG;
  if (bucket === undefined) return null;
  return {
    async put(key, body) {
      await bucket.put(key, body, { httpMetadata: { contentType: "text/csv; charset=utf-8" } });
    },
  };
}
