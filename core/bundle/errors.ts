/**
 * A bundle that cannot be used: an invalid manifest, a file that does not match it, a missing KV key, a corrupt
 * packed table. `reasons` lists every problem found (one line each), so a person can fix them all in one go and
 * `/health` can show them.
 */
export class BundleError extends Error {
  readonly reasons: readonly string[];

  constructor(summary: string, reasons: readonly string[] = []) {
    super(reasons.length === 0 ? summary : `${summary}:\n  - ${reasons.join("\n  - ")}`);
    this.name = "BundleError";
    this.reasons = reasons.length === 0 ? [summary] : reasons.map((reason) => `${summary}: ${reason}`);
  }
}
