import { BundleError } from "../../core/bundle/errors";
import type { BundleKvReader } from "../../core/bundle/kv";
import { ACTIVE_KEY } from "../../core/bundle/kv-layout";
import { loadBundle, readActiveVersion, type BundleFiles } from "../../core/bundle/store";
import { workersKvReader } from "./kv";

/** The bindings the cache reads: the KV namespace and an optional override of the refresh interval. */
export interface BundleBindings {
  readonly BUNDLES?: KVNamespace;
  /** Seconds between reads of `bundle/active`; overrides the constructor's `refreshSeconds`. */
  readonly BUNDLE_REFRESH_SECONDS?: string;
}

export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

export interface ReadyBundle<T> {
  readonly status: "ready";
  readonly version: string;
  readonly bundle: BundleFiles;
  /** What `decode` made of this version, computed once per version. */
  readonly decoded: T;
}

export interface UnavailableBundle {
  readonly status: "unavailable";
  readonly reasons: readonly string[];
}

export type BundleState<T> = ReadyBundle<T> | UnavailableBundle;

export interface BundleLoadFailure {
  /** The version that failed, or null when the pointer itself could not be read. */
  readonly version: string | null;
  readonly reasons: readonly string[];
  readonly at: number;
}

export interface BundleCacheSnapshot<T> {
  readonly ready: ReadyBundle<T> | null;
  /** When `bundle/active` was last read (epoch ms), null before the first read. */
  readonly checkedAt: number | null;
  /** The version being loaded in the background right now, if any. */
  readonly loadingVersion: string | null;
  /** The most recent failure since the last successful check, if any. */
  readonly lastFailure: BundleLoadFailure | null;
}

export interface BundleCacheOptions<T> {
  /** Turns the raw files into runtime structures (sessions, tables, indexes); runs once per version, before the swap. */
  readonly decode: (bundle: BundleFiles) => Promise<T>;
  /**
   * Frees what `decode` made (wasm memory is not garbage collected): called once per version, after it was swapped
   * out and no request holds it any more.
   */
  readonly release?: (decoded: T) => Promise<void> | void;
  /** Seconds between reads of `bundle/active` (default 30; KV itself caches the pointer for ~60 s at the edge). */
  readonly refreshSeconds?: number;
  /** While a good bundle is serving, a version that failed is retried after this many seconds (default 300). */
  readonly failedRetrySeconds?: number;
  /** Requests that have no bundle to fall back on wait at most this long for a load (default 20 s), then answer degraded. */
  readonly waitForLoadMs?: number;
  /** A load that has not settled after this long is presumed lost (its request was cancelled) and is started afresh (default 60 s). */
  readonly abandonLoadAfterMs?: number;
  readonly verifyHashes?: boolean;
  readonly now?: () => number;
  /** Which of a bundle's files this isolate reads (default: all). */
  readonly files?: (path: string) => boolean;
}

/**
 * One model bundle per isolate, loaded once and shared by every request.
 *
 * `current()` answers from memory. Every `refreshSeconds` one request re-reads `bundle/active`; when it names a new
 * version, that request loads and decodes it in the background (kept alive with `waitUntil`) while everyone keeps
 * using the old one, then the reference is swapped in one assignment. A request holds the `ReadyBundle` it was given
 * (through `use()`), so a swap never changes what an in-flight request sees, and the old version is released once
 * the last such request is done. Concurrent requests share one load. A failed load keeps the previous bundle; with
 * none to keep, `current()` answers `unavailable` with the reasons.
 */
export class BundleCache<T> {
  private ready: ReadyBundle<T> | null = null;
  private refreshing: { promise: Promise<void>; startedAt: number } | null = null;
  private checkedAt: number | null = null;
  private loadingVersion: string | null = null;
  private lastFailure: BundleLoadFailure | null = null;
  /** Bumped by every refresh; a refresh that is no longer the latest (it was abandoned) changes nothing. */
  private generation = 0;
  /** How many `use()` calls hold each version; a swapped-out version is released when its count drops to zero. */
  private readonly holders = new Map<ReadyBundle<T>, number>();
  private readonly now: () => number;

  constructor(private readonly options: BundleCacheOptions<T>) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The bundle to answer with now. The caller may use it only briefly (metadata, /health): once it is swapped out,
   * its models are released as soon as no `use()` holds it. Requests that run models call `use()`.
   */
  async current(env: BundleBindings | undefined, ctx: WaitUntil): Promise<BundleState<T>> {
    await this.awaitUsable(env, ctx);
    return this.stateNow(env);
  }

  /**
   * Runs `work` with the current bundle and holds that version until `work` settles: a version swapped out meanwhile
   * is released only after its last holder is done.
   */
  async use<R>(env: BundleBindings | undefined, ctx: WaitUntil, work: (state: BundleState<T>) => Promise<R>): Promise<R> {
    await this.awaitUsable(env, ctx);
    // synchronous from here to the hold: no swap (and so no release) can slip in between
    const state = this.stateNow(env);
    if (state.status !== "ready") return work(state);
    this.holders.set(state, (this.holders.get(state) ?? 0) + 1);
    try {
      return await work(state);
    } finally {
      const left = (this.holders.get(state) ?? 1) - 1;
      if (left > 0) this.holders.set(state, left);
      else {
        this.holders.delete(state);
        if (state !== this.ready) this.releaseDecoded(state.version, state.decoded);
      }
    }
  }

  /** Starts a refresh when one is due and, with no bundle to serve yet, waits (bounded) for it. */
  private async awaitUsable(env: BundleBindings | undefined, ctx: WaitUntil): Promise<void> {
    if (env === undefined || env.BUNDLES === undefined) return;
    const namespace = env.BUNDLES;
    const now = this.now();
    if (this.refreshing !== null && now - this.refreshing.startedAt >= (this.options.abandonLoadAfterMs ?? 60_000)) {
      console.warn(`bundle: a load started ${now - this.refreshing.startedAt} ms ago never settled; starting over`);
      this.refreshing = null;
      this.loadingVersion = null;
    }
    if (this.refreshing === null && (this.checkedAt === null || now - this.checkedAt >= this.refreshMs(env))) {
      this.checkedAt = now;
      const refresh = { promise: Promise.resolve(), startedAt: now };
      refresh.promise = this.refresh(workersKvReader(namespace), ++this.generation).finally(() => {
        if (this.refreshing === refresh) this.refreshing = null;
      });
      this.refreshing = refresh;
      // The request that starts the load keeps it alive; others only wait on it (or not at all).
      ctx.waitUntil(refresh.promise);
    }
    if (this.ready === null && this.refreshing !== null) await waitAtMost(this.refreshing.promise, this.options.waitForLoadMs ?? 20_000);
  }

  private stateNow(env: BundleBindings | undefined): BundleState<T> {
    if (this.ready !== null) return this.ready;
    if (env?.BUNDLES === undefined) return { status: "unavailable", reasons: ["the KV binding BUNDLES is not configured"] };
    if (this.refreshing !== null) return { status: "unavailable", reasons: [`the bundle${this.loadingVersion === null ? "" : ` ${this.loadingVersion}`} is still loading`] };
    return { status: "unavailable", reasons: this.lastFailure?.reasons ?? ["no bundle loaded yet"] };
  }

  /** What `/health` reports; never triggers I/O. */
  snapshot(): BundleCacheSnapshot<T> {
    return { ready: this.ready, checkedAt: this.checkedAt, loadingVersion: this.loadingVersion, lastFailure: this.lastFailure };
  }

  /** Settles when the refresh in flight (if any) has finished; tests use it instead of sleeping. */
  async settled(): Promise<void> {
    await this.refreshing?.promise;
  }

  private async refresh(kv: BundleKvReader, generation: number): Promise<void> {
    const isLatest = () => generation === this.generation;
    let version: string | null;
    try {
      version = await readActiveVersion(kv);
    } catch (error) {
      if (isLatest()) this.fail(null, reasonsOf(error));
      return;
    }
    if (!isLatest()) return;
    if (version === null) {
      this.fail(null, [`no active bundle: the KV key ${ACTIVE_KEY} is missing (publish one with npm run publish)`]);
      return;
    }
    if (this.ready?.version === version) {
      this.lastFailure = null;
      return;
    }
    const failure = this.lastFailure;
    if (this.ready !== null && failure?.version === version && this.now() - failure.at < (this.options.failedRetrySeconds ?? 300) * 1000) return;

    this.loadingVersion = version;
    try {
      const bundle = await loadBundle(kv, version, { verifyHashes: this.options.verifyHashes ?? true, now: this.now, ...(this.options.files ? { files: this.options.files } : {}) });
      let decoded: T;
      try {
        decoded = await this.options.decode(bundle);
      } catch (error) {
        throw new BundleError(`bundle ${version} loaded but could not be decoded`, reasonsOf(error));
      }
      if (!isLatest()) {
        this.releaseDecoded(version, decoded);
        return;
      }
      const previous = this.ready;
      this.ready = { status: "ready", version, bundle, decoded };
      this.lastFailure = null;
      console.log(`bundle: ${previous?.version ?? "(none)"} -> ${version} (${bundle.files.size} files, loaded in ${bundle.loadMs} ms)`);
      // no request holds it: nothing can use it again; otherwise its last holder releases it
      if (previous !== null && !this.holders.has(previous)) this.releaseDecoded(previous.version, previous.decoded);
    } catch (error) {
      if (isLatest()) this.fail(version, reasonsOf(error));
    } finally {
      if (isLatest()) this.loadingVersion = null;
    }
  }

  /** Frees what `decode` allocated (ONNX sessions, the ANN index); a failure is logged, never thrown at a request. */
  private releaseDecoded(version: string, decoded: T): void {
    const release = this.options.release;
    if (release === undefined) return;
    void Promise.resolve()
      .then(() => release(decoded))
      .catch((error: unknown) => console.error(`bundle: releasing ${version} failed: ${reasonsOf(error).join("; ")}`));
  }

  private fail(version: string | null, reasons: readonly string[]): void {
    this.lastFailure = { version, reasons, at: this.now() };
    const keeping = this.ready === null ? "no bundle to fall back on" : `keeping ${this.ready.version}`;
    console.error(`bundle: ${version === null ? "cannot read the active version" : `cannot load ${version}`} (${keeping}):\n  ${reasons.join("\n  ")}`);
  }

  private refreshMs(env: BundleBindings): number {
    const configured = env.BUNDLE_REFRESH_SECONDS;
    if (configured !== undefined && configured !== "") {
      const seconds = Number(configured);
      if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
      console.warn(`bundle: BUNDLE_REFRESH_SECONDS=${JSON.stringify(configured)} is not a number of seconds; using the default`);
    }
    return (this.options.refreshSeconds ?? 30) * 1000;
  }
}

function reasonsOf(error: unknown): readonly string[] {
  if (error instanceof BundleError) return error.reasons;
  return [error instanceof Error ? error.message : String(error)];
}

async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  if (timer !== undefined) clearTimeout(timer);
}
