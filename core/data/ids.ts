/** A dense index over external ids: external id (as text) <-> row number. */
export class IdIndex {
  private readonly rows = new Map<string, number>();
  private readonly list: string[] = [];

  static from(ids: Iterable<string>): IdIndex {
    const index = new IdIndex();
    for (const id of ids) index.add(id);
    return index;
  }

  get size(): number {
    return this.list.length;
  }

  /** Returns the row of `id`, adding it when new. */
  add(id: string): number {
    const existing = this.rows.get(id);
    if (existing !== undefined) return existing;
    const row = this.list.length;
    this.rows.set(id, row);
    this.list.push(id);
    return row;
  }

  get(id: string): number | undefined {
    return this.rows.get(id);
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  id(row: number): string {
    const id = this.list[row];
    if (id === undefined) throw new RangeError(`row ${row} is outside an index of ${this.list.length} ids`);
    return id;
  }

  ids(): readonly string[] {
    return this.list;
  }
}
