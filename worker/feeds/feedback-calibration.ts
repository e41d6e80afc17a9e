import { REQUEST_BUDGETS_MS } from "../../core/config/budgets";
import { mtmlCalibrationSchema, type MtmlCalibration } from "../../core/ranking/calibration";
import { refitPeriod } from "../../core/ranking/feedback-calibration";
import { withinTimeBudget } from "../../core/util/time-budget";
import { logRecurringFailure } from "../../core/util/throttled-log";
import { trendingStub } from "../state/trending";

/** After a failed read, how long an isolate serves without the maps before asking again. */
export const FEEDBACK_RETRY_MS = 5_000;

/** The feedback maps a request is scored with, and where they came from (the debug trace shows it). */
export interface FeedbackCalibrationState {
  /** Per task, the map applied after the bundle's calibrators; empty when none is in force. */
  readonly maps: MtmlCalibration;
  /** The refit period the maps belong to (its start), when they were read. */
  readonly periodMs?: number;
  /** Closed impressions with a served prediction that the maps were fitted on. */
  readonly impressions?: number;
  /** "off" by FEEDBACK_CALIBRATION, or why the maps could not be read: the request is served with the bundle's calibration alone. */
  readonly problem?: string;
}

// One entry per isolate and period: the maps change only when a refit period starts.
let cached: { readonly periodMs: number; readonly state: FeedbackCalibrationState } | undefined;
let failedAtMs = -Infinity;

/**
 * Calibration from feedback for a request at `nowMs` (worker/state/feedback-store.ts): the trending object fits the
 * maps once per period from the impressions whose predictions and outcomes are in; an isolate asks once per period
 * and keeps the answer. Without it (disabled, or the object unreachable) the bundle's calibrators alone apply, as
 * before this existed, so a failure costs calibration, never the feed.
 */
export async function readFeedbackCalibration(env: Env, nowMs: number): Promise<FeedbackCalibrationState> {
  if (env.FEEDBACK_CALIBRATION === "off") return { maps: {}, problem: "off (FEEDBACK_CALIBRATION)" };
  const periodMs = refitPeriod(nowMs);
  if (cached?.periodMs === periodMs) return cached.state;
  const wallMs = Date.now();
  if (wallMs - failedAtMs < FEEDBACK_RETRY_MS) return { maps: {}, problem: "feedback maps unavailable: retried shortly" };
  try {
    const answer = await withinTimeBudget(trendingStub(env).feedbackMaps(nowMs), REQUEST_BUDGETS_MS.stateObject, "the trending object's feedback maps");
    const maps = mtmlCalibrationSchema.safeParse(answer.maps);
    if (!maps.success || answer.periodMs !== periodMs) throw new Error(`malformed feedback maps: ${maps.success ? `period ${answer.periodMs}, asked for ${periodMs}` : maps.error.message}`);
    // a page records what the model said by undoing the map (FeedPage.record): only increasing Platt maps can be undone
    if (!Object.values(maps.data).every((map) => map.method === "none" || (map.method === "platt" && map.a > 0))) throw new Error("malformed feedback maps: only Platt maps with a positive slope are served");
    const state: FeedbackCalibrationState = { maps: maps.data, periodMs, impressions: answer.impressions };
    cached = { periodMs, state };
    return state;
  } catch (error) {
    failedAtMs = wallMs;
    const problem = `feedback maps unavailable: ${(error as Error).message}`;
    logRecurringFailure("feeds.feedback_calibration", problem);
    return { maps: {}, problem };
  }
}
