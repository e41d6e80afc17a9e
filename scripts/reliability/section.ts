/**
 * One section of `npm run reliability` (issue 17): each section drives the real Worker in `wrangler dev` on loopback,
 * with bounded loops, and answers the rows of the reliability table and a Markdown part of RELIABILITY.md.
 */
export interface ReliabilityRow {
  /** The section's name, e.g. "fuzzing". */
  readonly section: string;
  /** What was measured, e.g. "responses ≥ 500". */
  readonly measure: string;
  /** The measured value as printed, e.g. "0 of 104,211". */
  readonly value: string;
  /** The bar it is held to, e.g. "0". */
  readonly bar: string;
  readonly pass: boolean;
}

export interface ReliabilitySectionResult {
  readonly section: string;
  readonly rows: readonly ReliabilityRow[];
  /** Markdown for RELIABILITY.md: how the section ran (counts, durations, machine load) and what it observed. */
  readonly markdown: string;
  /** Every row passed. */
  readonly ok: boolean;
}

export interface ReliabilitySectionOptions {
  /** The reduced version for CI (seconds, not minutes); the full run otherwise. */
  readonly smoke: boolean;
  readonly log: (line: string) => void;
}

export type ReliabilitySection = (options: ReliabilitySectionOptions) => Promise<ReliabilitySectionResult>;
