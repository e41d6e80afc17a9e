// Runs in Node before the workerd tests: reads the shipped KuaiRand log through the project's loader and hands the
// workerd tests a slice of it (test/worker/experiments.test.ts replays it through POST /v1/events).
import type { TestProject } from "vitest/node";
import { dayStartMs, loadDataset } from "../../core/data";
import { DirectoryDataSource } from "../../scripts/lib/directory-source";
import type { Label } from "../../core/data/labels";

/** One exposure of the log, in the caller's ids: what the app showed and what the user did with it. */
export interface LogRow {
  readonly user_id: string;
  readonly item_id: string;
  readonly ts: number;
  readonly surface: number;
  /** The labels set on this exposure. */
  readonly labels: readonly Label[];
}

export interface LogSlice {
  /** The instant the slice's first day begins (local midnight): rows before it come from the day before. */
  readonly startMs: number;
  readonly rows: readonly LogRow[];
}

declare module "vitest" {
  export interface ProvidedContext {
    kuairandSlice: LogSlice;
  }
}

/** The first rows of each of two test-window days, and the last rows of the day before them. */
export const SLICE = { data: "data/kuairand-pure", days: ["20220504", "20220505"], rowsPerDay: 1_500, rowsBefore: 150 } as const;

export default async function setup(project: TestProject): Promise<void> {
  const data = await loadDataset(new DirectoryDataSource(SLICE.data));
  const { events } = data;
  const firstRowAtOrAfter = (ms: number) => {
    let row = 0;
    while (row < events.size && (events.ts[row] as number) < ms) row++;
    return row;
  };
  const dayStarts = SLICE.days.map((day) => dayStartMs("day", day, data.timezoneOffsetMinutes));
  const starts = dayStarts.map(firstRowAtOrAfter);
  const first = starts[0] as number;
  const picked = [
    ...Array.from({ length: SLICE.rowsBefore }, (_, i) => first - SLICE.rowsBefore + i),
    ...starts.flatMap((start) => Array.from({ length: SLICE.rowsPerDay }, (_, i) => start + i)),
  ];
  const rows = picked.map((row): LogRow => ({
    user_id: data.users.ids.id(events.user[row] as number),
    item_id: data.items.ids.id(events.item[row] as number),
    ts: events.ts[row] as number,
    surface: events.surface[row] as number,
    labels: data.labels.filter((label) => events.labels[label]?.[row] === 1),
  }));
  project.provide("kuairandSlice", { startMs: dayStarts[0] as number, rows });
}
