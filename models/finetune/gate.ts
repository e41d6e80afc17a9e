/**
 * The fine-tune's regression gate: the candidate is measured beside the active bundle's models on the same held-out
 * rows (the newest events, which neither model trained on), and is published only when no gated measure is worse by
 * more than its tolerance. Equal passes: a fine-tune on a quiet hour may change nothing measurable, and refusing it
 * would only freeze the counters and lists it also refreshes.
 */

export interface GateMeasure {
  /** e.g. `mtml_auc_click`, `retrieval_recall@986`. */
  readonly name: string;
  readonly base: number | null;
  readonly candidate: number | null;
  /** How much lower the candidate may be and still pass (higher is better for every measure here). */
  readonly tolerance: number;
  /** Reported, not gated (a label too rare on an hour's slice to judge, say). */
  readonly gated: boolean;
  /** What the measure was taken on (e.g. "41 positives"), for the table. */
  readonly note?: string;
}

export interface GateRow extends GateMeasure {
  readonly verdict: "pass" | "fail" | "n/a";
}

export interface GateVerdict {
  readonly passed: boolean;
  readonly rows: readonly GateRow[];
}

/** Tolerances of the default gate: AUCs are stable to ~0.002 on a few thousand impressions; recall is a share of a few hundred clicks. */
export const DEFAULT_GATE_TOLERANCE = { auc: 0.002, recall: 0.01 } as const;

/** The MTML labels the gate holds the candidate to; the rarer ones are reported beside them. */
export const GATED_LABELS = ["click", "long_view", "like"] as const;

/**
 * A gated AUC counts only when the held-out slice has at least this many positives and negatives of its label. With
 * fewer, an AUC moves by more than the tolerance between two equally good models (an hour of KuaiRand has ~5 likes
 * among ~200 held-out impressions: one like ranked differently moves the AUC by ~0.004), so it is reported, not gated.
 * Retrieval recall likewise needs this many held-out clicks.
 */
export const MIN_GATED_EXAMPLES = 30;

export function judge(measures: readonly GateMeasure[]): GateVerdict {
  const rows = measures.map((m): GateRow => {
    if (!m.gated || m.base === null || m.candidate === null) return { ...m, verdict: "n/a" };
    return { ...m, verdict: m.candidate >= m.base - m.tolerance ? "pass" : "fail" };
  });
  const gatedRows = rows.filter((row) => row.verdict !== "n/a");
  // a gate that measured nothing has not shown the candidate is not worse
  return { passed: gatedRows.length > 0 && gatedRows.every((row) => row.verdict === "pass"), rows };
}

export function formatVerdict(verdict: GateVerdict): string {
  const show = (value: number | null) => (value === null ? "—" : value.toFixed(4));
  const lines = [
    `${"measure".padEnd(28)} ${"base".padStart(8)} ${"candidate".padStart(9)} ${"Δ".padStart(8)} ${"tolerance".padStart(9)}  ${"verdict".padEnd(7)}  on`,
    ...verdict.rows.map((row) => {
      const delta = row.base === null || row.candidate === null ? "—" : `${row.candidate - row.base >= 0 ? "+" : ""}${(row.candidate - row.base).toFixed(4)}`;
      return `${row.name.padEnd(28)} ${show(row.base).padStart(8)} ${show(row.candidate).padStart(9)} ${delta.padStart(8)} ${(row.gated ? `-${row.tolerance}` : "—").padStart(9)}  ${row.verdict.padEnd(7)}  ${row.note ?? ""}`;
    }),
    verdict.passed ? "gate: PASS — the candidate is not worse than the active bundle" : "gate: FAIL — the candidate is worse than the active bundle on a gated measure (or nothing could be measured): not written as the new bundle, not published",
  ];
  return lines.join("\n");
}
