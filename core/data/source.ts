/**
 * Where a data set's files come from. The Node adapter reads a directory (and gunzips `.csv.gz`);
 * tests use an in-memory source. Names are logical: `log_standard.csv` may be stored as `log_standard.csv.gz`.
 */
export interface DataSource {
  /** Says where the data lives, for error messages. */
  readonly location: string;
  /** Logical file names present. */
  list(): Promise<readonly string[]>;
  /** The text of a logical file; `file` is the stored name, for error messages. Rejects when the file is missing. */
  read(name: string): Promise<{ file: string; text: string }>;
}

export class MemoryDataSource implements DataSource {
  constructor(
    private readonly files: Readonly<Record<string, string>>,
    readonly location = "memory",
  ) {}

  async list(): Promise<readonly string[]> {
    return Object.keys(this.files);
  }

  async read(name: string): Promise<{ file: string; text: string }> {
    const text = this.files[name];
    if (text === undefined) throw new Error(`${this.location}: missing file ${name}`);
    return { file: name, text };
  }
}
