import { CATALOGUE_LABELS, RECALL_CUTOFFS } from "./protocols";
import type { EvaluationReport } from "./harness";

const format = (value: number | null | undefined, digits = 4) => (value === null || value === undefined ? "—" : value.toFixed(digits));

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, c) => Math.max(title.length, ...rows.map((row) => (row[c] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The evaluation report as readable tables. */
export function formatReport(report: EvaluationReport): string {
  const out: string[] = [];
  out.push(`Split: train ..${report.split.train_end}, test ${report.split.test_start}..${report.split.test_end}  ` +
    `(${report.data.name}: ${report.data.train_events} train / ${report.data.test_events} test events, ${report.data.items} items, ${report.data.users} users)`);
  for (const note of report.data.notes) out.push(`note: ${note}`);

  out.push("", "Full catalogue — each test user's top 1000 from the state at the end of training");
  const catalogueRows: string[][] = [];
  for (const [system, result] of Object.entries(report.full_catalogue)) {
    for (const label of CATALOGUE_LABELS) {
      const m = result[label];
      if (!m) continue;
      catalogueRows.push([system, label, ...RECALL_CUTOFFS.map((k) => format(m[`recall@${k}`])), format(m["ndcg@10"]), format(m["hit@10"]), String(m.users)]);
    }
  }
  out.push(table(["system", "positives", ...RECALL_CUTOFFS.map((k) => `R@${k}`), "NDCG@10", "Hit@10", "users"], catalogueRows));
  out.push("");
  out.push(table(["system", "", "coverage@100", "authors@10", "personalisation@10", "users"],
    Object.entries(report.full_catalogue).map(([system, result]) => [system, "", format(result.coverage), format(result["authors@10"], 2), format(result["personalisation@10"]), String(result.users)])));

  out.push("", "Impressions — each test impression scored from the state at the end of training");
  const impressionRows: string[][] = [];
  for (const [scorer, result] of Object.entries(report.impressions)) {
    for (const [label, m] of Object.entries(result)) {
      if (m) impressionRows.push([scorer, label, format(m.auc), format(m.gauc), format(m["replay_ndcg@10"])]);
    }
  }
  out.push(table(["scorer", "label", "AUC", "GAUC", "replayNDCG@10"], impressionRows));

  const calibrationRows: string[][] = [];
  for (const [scorer, result] of Object.entries(report.impressions)) {
    for (const [label, m] of Object.entries(result)) {
      const c = m?.calibration;
      if (c) calibrationRows.push([scorer, label, format(c.ece), format(c.eceFloor), format(c.meanPredicted), format(c.observedRate), c.bins.map((bin) => `${bin.meanPredicted.toFixed(3)}→${bin.observedRate.toFixed(3)}`).join(" ")]);
    }
  }
  if (calibrationRows.length > 0) {
    out.push("", "Calibration — the scorers of probabilities: expected calibration error, the ECE that calibrated probabilities would show on these impressions (sampling noise), and by decile of the predicted probability, mean predicted → observed rate");
    out.push(table(["scorer", "label", "ECE", "ECE floor", "predicted", "observed", "deciles"], calibrationRows));
  }

  const measures = Object.entries(report.measures);
  if (measures.length > 0) {
    out.push("", table(["measure", "", "value"], measures.map(([name, value]) => [name, "", format(value)])));
  }
  return out.join("\n");
}
