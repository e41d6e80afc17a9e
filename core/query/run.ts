import { executeQuery, type ExecuteOptions, type QueryContext, type QueryResult } from "./executor";
import { planQuery, type PlanOptions } from "./planner";
import type { QueryStores } from "./stores";

/** Parse, plan and execute in one call (for one-off queries; plan once and reuse the plan for hot paths). */
export function runQuery(text: string, stores: QueryStores, context: QueryContext, options: PlanOptions & ExecuteOptions = {}): Promise<QueryResult> {
  return executeQuery(planQuery(text, options), stores, context, options);
}
