/** A Server-Timing header value: one `name;dur=ms` entry per stage, then the total. */
export function serverTiming(timings: Readonly<Record<string, number>>, totalMs: number): string {
  const entries = Object.entries(timings).map(([name, ms]) => `${name.replace(/[^A-Za-z0-9_-]/g, "_")};dur=${ms.toFixed(2)}`);
  entries.push(`total;dur=${totalMs.toFixed(2)}`);
  return entries.join(", ");
}
