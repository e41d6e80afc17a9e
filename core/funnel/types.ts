import type { Engagement } from "../features/engagement";
import type { UserContext } from "../features/context";
import type { Clock } from "../query";
import type { ServingConfig } from "../config/serving";
import type { RemoteItemIndex } from "../shards/fan-out";
import type { MtmlCalibration } from "../ranking/calibration";

/** What the real-time store knows about a user beyond the bundle (already resolved to bundle rows). */
export interface RealtimeUserState {
  readonly engagements: readonly Engagement[];
  readonly seenItems: ReadonlySet<number>;
  readonly followedAuthors: ReadonlySet<number>;
}

export const NO_REALTIME_STATE: RealtimeUserState = { engagements: [], seenItems: new Set(), followedAuthors: new Set() };

/** The user a feed is for, merged from the bundle (training history) and real-time state. */
export interface FeedUser {
  readonly id: string;
  /** Row in the bundle's user table, when the bundle knows the user. */
  readonly row: number | undefined;
  readonly context: UserContext;
  readonly seen: ReadonlySet<number>;
  readonly followedAuthors: ReadonlySet<number>;
  /** Engaged interactions (clicks, likes, follows, ...) known for the user. */
  readonly engagements: number;
  /** The user's real-time engagements (after the bundle's window), in time order. */
  readonly realtimeEngagements: readonly Engagement[];
  readonly cold: boolean;
}

export interface FeedRequest {
  readonly user: FeedUser;
  readonly count: number;
  readonly surface: number;
  readonly nowMs: number;
  /** Item rows the caller asked to leave out. */
  readonly exclude: ReadonlySet<number>;
  /**
   * The authors (rows; -1 for one the bundle does not know) of the items the feed session served before this page,
   * oldest first: the page's author rules continue from them (AuthorWindow).
   */
  readonly precedingAuthors?: readonly number[];
  readonly config: ServingConfig;
  /** Real-time trending (item rows, best first), merged over the bundle's own trending list. */
  readonly trending?: { readonly items: Int32Array; readonly scores: Float32Array };
  /** The sourcing queries' clock (tests drive the CPU budget with a fake one). */
  readonly clock?: Clock;
  /** Item shards to search instead of the bundle's own index (`user_nn`), when the catalogue is sharded. */
  readonly itemIndex?: RemoteItemIndex;
  /**
   * Calibration from feedback in force now (core/ranking/feedback-calibration.ts): per task, a map applied to the
   * MTML's probabilities after the bundle's calibrators, wherever this request's items are scored.
   */
  readonly feedbackCalibration?: MtmlCalibration;
}

export interface SourceHit {
  /** The source's name in `retrieval.sources` (one of SOURCE_NAMES, or one an engineer added). */
  readonly source: string;
  readonly score: number;
  readonly rank: number;
}

/** A candidate item as it moves down the funnel, accumulating what each stage learned about it. */
export interface Candidate {
  readonly item: number;
  readonly sources: SourceHit[];
  /** Weighted mix of the sources' normalised scores. */
  retrievalScore: number;
  /** The value model's log prior (how likely the item reaches this user at all), set by the first ranking stage. */
  logPrior?: number;
  /** The log prior with the exploration tail's exposure exponent (set only when the page has a tail). */
  tailLogPrior?: number;
  firstStageScore?: number;
  /** Per-label probabilities, LABELS order. */
  probabilities?: Float32Array;
  /** The value model's score. */
  value?: number;
  /** The value model's score under the tail's prior: what orders the page after the exploration tail starts. */
  tailValue?: number;
  /** The score after rerank adjustments (integrity downranking). */
  score: number;
  /** Suggested Posts: the seed account (a bundle row; none for the popular fill) and its type (H, R, F, popular). */
  seed?: { readonly id: number | undefined; readonly type: string };
}

/** One step of a source's query, for the debug trace: where it is written and how many entries went in and out. */
export interface QueryStepCount {
  readonly operator: string;
  readonly line: number;
  readonly column: number;
  readonly in: number;
  readonly out: number;
}

/** What a stage reports for the debug trace. */
export interface StageTrace {
  readonly stage: string;
  readonly in: number;
  readonly out: number;
  readonly ms: number;
  readonly details?: Record<string, unknown>;
}

export interface FunnelTrace {
  readonly stages: StageTrace[];
  /** Per source: its candidates, time, why it found nothing, and each query step's counts (root first). */
  readonly sources: Record<string, { candidates: number; ms: number; note?: string; steps?: readonly QueryStepCount[] }>;
  readonly rules: { rule: string; removed?: number; moved?: number; details?: Record<string, unknown> }[];
}


