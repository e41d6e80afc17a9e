import { SOURCE_QUERY_LIMITS } from "./sources";

/**
 * Per-stage time budgets of one feed request (issue 17, "fault injection"): each part of a request that waits on
 * something outside the isolate, or that can run long, gives up after its budget and the feed goes on without it,
 * saying why in `degraded`. Together they bound a request at a few seconds whatever one part does, well inside the
 * edge's limits (Workers' default 30 s of CPU per request), so one slow store or source cannot hold a request.
 *
 * The waits run in parallel where the request reads its state (user state, trending, counters, config), so a request
 * spends at most one state budget there, then at most `retrieval` in its sources, then its models (bounded by the
 * page's size, not by anything external). Budgets are wall-clock: a deployed Worker's clock advances only at I/O, so
 * there they bound waits on I/O; CPU-bound sourcing queries are bounded by their own CPU budget (core/query/limits.ts).
 */
export const REQUEST_BUDGETS_MS = {
  /** One small KV read on a request's path: the stored serving config, a precomputed feed, the fallback list. */
  kvRead: 1000,
  /** One call to a Durable Object on a request's path: the user's state, trending, the live-items delta. */
  stateObject: 1000,
  /** One retrieval source, its queries together: the same number as its queries' CPU budget. */
  source: SOURCE_QUERY_LIMITS.cpuBudgetMs ?? 1000,
  /** Every retrieval source together: a source that starts after this is skipped. */
  retrieval: 2000,
  /**
   * One KV read of a bundle's files while a version loads (in the background while an older version serves; a cold
   * isolate waits for it at most BundleCache's waitForLoadMs): files are large, so this is generous.
   */
  bundleKvRead: 10_000,
} as const;
