/**
 * The author rules of one page of a feed session, seen as a stretch of one endless scroll. A page of `size` items
 * holds at most `maxPerAuthor` items of one author; where the page boundary falls is the client's choice of page
 * size, not something the person scrolling sees, so the cap is kept over every `size` consecutive items that end on
 * this page, the session's earlier items (`preceding`, oldest first) included. On a first page that is exactly
 * the per-page cap. The page's first item also follows `preceding`'s last one, so the adjacency rule looks at it.
 */
export class AuthorWindow<Author> {
  private readonly sequence: Author[];
  private readonly counts = new Map<Author, number>();
  private start: number;

  constructor(
    private readonly size: number,
    private readonly maxPerAuthor: number,
    preceding: readonly Author[] = [],
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`author window: size must be a positive integer, got ${size}`);
    // only the last size − 1 preceding items share a window with this page's items
    this.sequence = size > 1 ? preceding.slice(-(size - 1)) : preceding.slice(-1);
    this.start = Math.max(0, this.sequence.length - (size - 1));
    for (let i = this.start; i < this.sequence.length; i++) this.add(this.sequence[i] as Author, 1);
  }

  /** The author of the item just before the next position: this page's last, or the session's before it. */
  get previous(): Author | undefined {
    return this.sequence.length > 0 ? this.sequence[this.sequence.length - 1] : undefined;
  }

  /** Whether an item of `author` may take the next position without going over the cap in the window it closes. */
  allows(author: Author): boolean {
    return (this.counts.get(author) ?? 0) < this.maxPerAuthor;
  }

  push(author: Author): void {
    this.sequence.push(author);
    this.add(author, 1);
    // the next position's window: the last size − 1 items
    while (this.sequence.length - this.start > this.size - 1) this.add(this.sequence[this.start++] as Author, -1);
  }

  private add(author: Author, delta: number): void {
    const next = (this.counts.get(author) ?? 0) + delta;
    if (next > 0) this.counts.set(author, next);
    else this.counts.delete(author);
  }
}
