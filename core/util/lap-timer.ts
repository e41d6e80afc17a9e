/** Seconds per named step of a run: `split(name)` records the time since the previous split, the start or `restart()`. */
export class LapTimer {
  readonly seconds: Record<string, number> = {};
  private lap = performance.now();

  constructor(private readonly digits = 2) {}

  split(name: string): void {
    this.seconds[name] = Number(((performance.now() - this.lap) / 1000).toFixed(this.digits));
    this.lap = performance.now();
  }

  /** Starts the next step now, leaving out the time since the last split (a step timed elsewhere). */
  restart(): void {
    this.lap = performance.now();
  }
}
