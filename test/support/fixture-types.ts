/** What the workerd tests receive from the Node global setup (serialisable). */
export interface FixtureBundle {
  readonly manifest: unknown;
  /** path → base64 bytes */
  readonly files: Record<string, string>;
  readonly asOfMs: number;
  /** The funnel's result, run in Node on the same bundle with no real-time state, at `asOfMs`. */
  readonly expectations: { userId: string; items: string[]; scores: number[] }[];
}

/** The fixture bundle's item shards (core/shards/layout.ts), built in Node: its manifest section and files. */
export interface FixtureItemShards {
  readonly section: unknown;
  /** path → base64 bytes */
  readonly files: Record<string, string>;
}

declare module "vitest" {
  export interface ProvidedContext {
    fixtureBundle: FixtureBundle;
    fixtureItemShards: FixtureItemShards;
  }
}
