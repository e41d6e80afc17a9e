/**
 * Training rows for a fine-tune: the same feature code as the pipeline's rows (writeMtmlRow, the tower rows, the
 * day-by-day replay of counters and user activity over the whole history), but written only for the new events, and
 * standardised with the base bundle's dense statistics instead of re-measured ones: the warm-started weights were
 * learnt on inputs scaled that way, and the serving bundle keeps the same spec.
 */
import type { TrainingData } from "../../core/data/dataset";
import type { FittedFeatures } from "../../core/features/fit-spec";
import { allocateMtmlInputs, writeMtmlRow } from "../../core/features/mtml-features";
import type { DayByDayReplay } from "../../core/features/replay";
import { standardiseRows, type FeatureSpec } from "../../core/features/spec";
import { allocateItemTowerInputs, allocateUserTowerInputs, writeItemTowerRow, writeUserTowerRow } from "../../core/features/tower-features";
import { lowerBound } from "../../core/util/sorted";
import { featureContext, labelMatrix, newReplay, userContextFor, type MtmlRows } from "../mtml/rows";
import type { RetrievalExamples } from "../two-tower/rows";
import { sliceEvents } from "../../core/data/dataset";

export interface FinetuneRows {
  /** MTML rows of the impressions from `fromMs` on (row i = history row `first + i`). */
  readonly mtml: { readonly inputs: MtmlRows["inputs"]; readonly labels: Float32Array; readonly ts: Float64Array };
  /** Retrieval examples of the clicks from `retrievalFromMs` on (older ones rehearse what the model knew). */
  readonly retrieval: RetrievalExamples;
  /** The replay after the whole history, advanced to its end: what the bundle's counters and the item inputs read. */
  readonly finalState: DayByDayReplay;
}

/**
 * Replays `history` (sorted by time) and writes MTML rows for its events at or after `fromMs`, retrieval examples for
 * its clicks at or after `retrievalFromMs` (either may reach back before the new events, to rehearse older ones). Each row sees only the days before its own, exactly as in `buildMtmlRows`
 * and `buildRetrievalExamples`.
 */
export function buildFinetuneRows(history: TrainingData, fitted: FittedFeatures, spec: FeatureSpec, fromMs: number, retrievalFromMs = fromMs): FinetuneRows {
  const events = history.events;
  const first = lowerBound(events.ts, fromMs);
  const firstClick = lowerBound(events.ts, retrievalFromMs);
  const count = events.size - first;
  const clicks = events.labels.click;
  if (!clicks) throw new Error("fine-tuning needs the click label");
  let clickCount = 0;
  for (let r = firstClick; r < events.size; r++) if (clicks[r]) clickCount++;
  const inputs = allocateMtmlInputs(spec, count);
  const users = allocateUserTowerInputs(spec, clickCount);
  const items = allocateItemTowerInputs(spec, clickCount);
  const clickItem = new Int32Array(clickCount);
  const clickUser = new Int32Array(clickCount);
  const clickTs = new Float64Array(clickCount);
  const replay = newReplay(history, spec);
  let e = 0;
  replay.run(events, (_day, from, to) => {
    if (to <= Math.min(first, firstClick)) return;
    const context = featureContext(history, fitted, spec, replay);
    for (let r = Math.max(from, Math.min(first, firstClick)); r < to; r++) {
      const user = events.user[r] as number;
      const item = events.item[r] as number;
      const ts = events.ts[r] as number;
      const userContext = userContextFor(history, fitted, user, replay.activity(user));
      if (r >= first) writeMtmlRow(context, userContext, item, events.surface[r] as number, ts, inputs, r - first, false);
      if (!clicks[r] || r < firstClick) continue;
      writeUserTowerRow(context, userContext, users, e, false);
      writeItemTowerRow(context, item, ts, items, e, false);
      clickItem[e] = item;
      clickUser[e] = user;
      clickTs[e] = ts;
      e++;
    }
  });
  replay.advanceTo(history.endMs);
  standardiseRows(inputs.dense, spec.dense, 0, count);
  standardiseRows(users.dense, spec.tower.userDense);
  standardiseRows(items.dense, spec.tower.itemDense);
  const newEvents = sliceEvents(events, first, events.size);
  return {
    mtml: { inputs, labels: labelMatrix(newEvents), ts: Float64Array.from(newEvents.ts) },
    retrieval: { users, items, item: clickItem, user: clickUser, ts: clickTs, spec },
    finalState: replay,
  };
}
