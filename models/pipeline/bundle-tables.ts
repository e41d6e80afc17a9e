import type { EventTable } from "../../core/data/dataset";
import { eventLabelBits } from "../../core/features/replay";
import type { UserHistories } from "../../core/serving/assets";

/** Every user's training events, oldest first, grouped by user row (CSR). */
export function buildUserHistories(events: EventTable, userCount: number): UserHistories {
  const offsets = new Int32Array(userCount + 1);
  for (let e = 0; e < events.size; e++) offsets[(events.user[e] as number) + 1] = (offsets[(events.user[e] as number) + 1] as number) + 1;
  for (let u = 0; u < userCount; u++) offsets[u + 1] = (offsets[u + 1] as number) + (offsets[u] as number);
  const cursor = offsets.slice(0, userCount);
  const item = new Int32Array(events.size);
  const ts = new Float64Array(events.size);
  const surface = new Int32Array(events.size);
  const labels = new Uint8Array(events.size);
  for (let e = 0; e < events.size; e++) {
    const user = events.user[e] as number;
    const slot = cursor[user] as number;
    cursor[user] = slot + 1;
    item[slot] = events.item[e] as number;
    ts[slot] = events.ts[e] as number;
    surface[slot] = events.surface[e] as number;
    labels[slot] = eventLabelBits(events, e);
  }
  return { offsets, item, ts, surface, labels };
}
