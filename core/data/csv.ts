import { MAX_EPOCH_MS, UNKNOWN } from "./dataset";
import { DataError } from "./errors";

/**
 * A CSV table read as text: the header, and rows of raw string fields with their 1-based line numbers.
 * Quoted fields (RFC 4180, "" as an escaped quote) are supported because real exports quote lists such as "[100,1k)".
 */
export interface CsvTable {
  readonly file: string;
  readonly header: readonly string[];
  rows(): Iterable<CsvRow>;
}

export interface CsvRow {
  readonly line: number;
  readonly fields: readonly string[];
}

export function parseCsv(file: string, text: string): CsvTable {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const firstLineEnd = findLineEnd(body, 0);
  const headerLine = body.slice(0, firstLineEnd.contentEnd);
  if (headerLine.trim() === "") throw new DataError(file, 1, undefined, "the file is empty: expected a header row");
  const header = splitLine(file, 1, headerLine);
  const seen = new Set<string>();
  for (const name of header) {
    if (name === "") throw new DataError(file, 1, undefined, "the header has an empty column name");
    if (seen.has(name)) throw new DataError(file, 1, name, "the header names this column twice");
    seen.add(name);
  }
  return {
    file,
    header,
    *rows() {
      let position = firstLineEnd.next;
      let line = 2;
      while (position < body.length) {
        const end = findLineEnd(body, position);
        const content = body.slice(position, end.contentEnd);
        if (content !== "") {
          const fields = splitLine(file, line, content);
          if (fields.length !== header.length) {
            throw new DataError(file, line, undefined, `expected ${header.length} fields as in the header, found ${fields.length}`);
          }
          yield { line, fields };
        }
        line += end.lines;
        position = end.next;
      }
    },
  };
}

/** Finds the end of a logical CSV line: newlines inside quotes belong to the field. */
function findLineEnd(text: string, start: number): { contentEnd: number; next: number; lines: number } {
  let inQuotes = false;
  let lines = 1;
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 34 /* " */) inQuotes = !inQuotes;
    else if (code === 10 /* \n */) {
      if (!inQuotes) return { contentEnd: i > start && text.charCodeAt(i - 1) === 13 ? i - 1 : i, next: i + 1, lines };
      lines++;
    }
  }
  return { contentEnd: text.length, next: text.length, lines };
}

function splitLine(file: string, line: number, content: string): string[] {
  if (content.indexOf('"') === -1) return content.split(",");
  const fields: string[] = [];
  let field = "";
  let i = 0;
  while (i <= content.length) {
    if (content.charCodeAt(i) === 34) {
      i++;
      for (;;) {
        if (i >= content.length) throw new DataError(file, line, undefined, "a quoted field is not closed");
        const code = content.charCodeAt(i);
        if (code === 34) {
          if (content.charCodeAt(i + 1) === 34) {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += content[i];
        i++;
      }
      if (i < content.length && content.charCodeAt(i) !== 44) {
        throw new DataError(file, line, undefined, `unexpected text after a closing quote at character ${i + 1}`);
      }
    } else {
      const comma = content.indexOf(",", i);
      const end = comma === -1 ? content.length : comma;
      field += content.slice(i, end);
      i = end;
    }
    fields.push(field);
    field = "";
    i++; // skip the comma (or step past the end)
  }
  return fields;
}

/**
 * Typed access to the columns of a CSV table by name. Every accessor names the file, line and column
 * when a value does not parse, so bad data never becomes NaN or undefined downstream.
 */
export class CsvColumns {
  private readonly index = new Map<string, number>();

  constructor(
    readonly table: CsvTable,
    required: readonly string[],
    options: { optional?: readonly string[]; allowUnknown?: boolean } = {},
  ) {
    table.header.forEach((name, i) => this.index.set(name, i));
    for (const name of required) {
      if (!this.index.has(name)) throw new DataError(table.file, 1, name, `missing required column; the header has: ${table.header.join(", ")}`);
    }
    if (!options.allowUnknown) {
      const known = new Set([...required, ...(options.optional ?? [])]);
      for (const name of table.header) {
        if (!known.has(name)) throw new DataError(table.file, 1, name, `unknown column; expected only: ${[...known].join(", ")}`);
      }
    }
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  string(row: CsvRow, name: string): string {
    const i = this.index.get(name);
    if (i === undefined) throw new DataError(this.table.file, row.line, name, "no such column");
    return row.fields[i] as string;
  }

  nonEmpty(row: CsvRow, name: string): string {
    const value = this.string(row, name).trim();
    if (value === "") throw new DataError(this.table.file, row.line, name, "value is empty");
    return value;
  }

  number(row: CsvRow, name: string): number {
    const raw = this.nonEmpty(row, name);
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new DataError(this.table.file, row.line, name, `"${raw}" is not a finite number`);
    return value;
  }

  /** A number, or `fallback` when the field is empty; text that is not a number is still an error. */
  optionalNumber(row: CsvRow, name: string, fallback: number): number {
    if (this.string(row, name).trim() === "") return fallback;
    return this.number(row, name);
  }

  integer(row: CsvRow, name: string): number {
    const value = this.number(row, name);
    if (!Number.isSafeInteger(value)) throw new DataError(this.table.file, row.line, name, `"${this.string(row, name)}" is not an integer`);
    return value;
  }

  /**
   * A time: integer milliseconds since the Unix epoch, negative before 1970, within the range of a JavaScript Date
   * (|value| <= 8.64e15). Any such value is a real time, 0 and -1 included: "unknown" is never written as a number.
   */
  epochMs(row: CsvRow, name: string): number {
    const value = this.number(row, name);
    const raw = this.string(row, name).trim();
    if (Math.abs(value) > MAX_EPOCH_MS) {
      throw new DataError(this.table.file, row.line, name, `"${raw}" is out of range: a time must be integer milliseconds since the epoch with |value| <= 8.64e15 (the range of a JavaScript Date)`);
    }
    if (!Number.isInteger(value)) throw new DataError(this.table.file, row.line, name, `"${raw}" is not an integer: a time must be integer milliseconds since the epoch (negative before 1970)`);
    return value;
  }

  /** A time as `epochMs` reads it, or UNKNOWN (NaN) when the field is empty. */
  optionalEpochMs(row: CsvRow, name: string): number {
    return this.string(row, name).trim() === "" ? UNKNOWN : this.epochMs(row, name);
  }

  flag(row: CsvRow, name: string): 0 | 1 {
    const raw = this.nonEmpty(row, name);
    if (raw === "0" || raw === "0.0") return 0;
    if (raw === "1" || raw === "1.0") return 1;
    throw new DataError(this.table.file, row.line, name, `"${raw}" is not a 0/1 label`);
  }

  /** An error located at this row and column, for the caller to throw. */
  error(row: CsvRow, name: string | undefined, reason: string): DataError {
    return new DataError(this.table.file, row.line, name, reason);
  }
}
