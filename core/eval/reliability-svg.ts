import type { Label } from "../data/labels";
import type { ImpressionResult } from "./protocols";

const PANEL = 220;
const MARGIN = 36;
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

/**
 * A reliability plot as an SVG document: one panel per label, predicted probability (x) against the observed rate
 * (y) per decile, one line per scorer whose scores are probabilities, the diagonal for perfect calibration. Both axes
 * run to the largest value shown in the panel, since most labels' probabilities sit far below 1.
 */
export function reliabilitySvg(impressions: Readonly<Record<string, ImpressionResult>>, labels: readonly Label[]): string {
  const scorers = Object.entries(impressions).filter(([, result]) => labels.some((label) => result[label]?.calibration));
  const panels = labels.filter((label) => scorers.some(([, result]) => result[label]?.calibration));
  const width = Math.max(1, panels.length) * (PANEL + MARGIN) + MARGIN;
  const height = PANEL + 2 * MARGIN + 18 * scorers.length;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`, `<rect width="${width}" height="${height}" fill="white"/>`];
  panels.forEach((label, p) => {
    const x0 = MARGIN + p * (PANEL + MARGIN);
    const y0 = MARGIN;
    let top = 0;
    for (const [, result] of scorers) for (const bin of result[label]?.calibration?.bins ?? []) top = Math.max(top, bin.meanPredicted, bin.observedRate);
    top = top > 0 ? top * 1.05 : 1;
    const px = (value: number) => x0 + (value / top) * PANEL;
    const py = (value: number) => y0 + PANEL - (value / top) * PANEL;
    parts.push(`<rect x="${x0}" y="${y0}" width="${PANEL}" height="${PANEL}" fill="none" stroke="#999"/>`);
    parts.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(top)}" y2="${py(top)}" stroke="#bbb" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${x0}" y="${y0 - 8}" font-weight="bold">${escape(label)}</text>`);
    parts.push(`<text x="${x0}" y="${y0 + PANEL + 14}">0</text><text x="${x0 + PANEL}" y="${y0 + PANEL + 14}" text-anchor="end">${top.toFixed(3)} predicted</text>`);
    parts.push(`<text x="${x0 - 4}" y="${y0 + 10}" text-anchor="end" transform="rotate(-90 ${x0 - 4} ${y0 + 10})">observed</text>`);
    scorers.forEach(([, result], s) => {
      const bins = result[label]?.calibration?.bins ?? [];
      if (bins.length === 0) return;
      const colour = COLOURS[s % COLOURS.length] as string;
      parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${bins.map((bin) => `${px(bin.meanPredicted).toFixed(1)},${py(bin.observedRate).toFixed(1)}`).join(" ")}"/>`);
      for (const bin of bins) parts.push(`<circle cx="${px(bin.meanPredicted).toFixed(1)}" cy="${py(bin.observedRate).toFixed(1)}" r="2.5" fill="${colour}"/>`);
    });
  });
  scorers.forEach(([name, result], s) => {
    const y = PANEL + 2 * MARGIN + 18 * s;
    const eces = panels.map((label) => `${label} ${result[label]?.calibration?.ece.toFixed(4) ?? "—"}`).join(", ");
    parts.push(`<rect x="${MARGIN}" y="${y - 9}" width="10" height="10" fill="${COLOURS[s % COLOURS.length]}"/><text x="${MARGIN + 16}" y="${y}">${escape(name)} — ECE: ${escape(eces)}</text>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
