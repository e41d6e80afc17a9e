/**
 * The sourcing query language: candidate sources written as queries, not code, e.g.
 *
 *   user
 *   .let(seed_id=user_id)
 *   .liked(max_num_to_retrieve=30)
 *   .account_nn(embedding_config=default)
 *   .posted_media(max_media_per_account=10)
 *   .filter(non_recommendable_model_threshold=0.2)
 *   .rank(ranking_model=default)
 *   .diversify_by(seed_id, method=round_robin)
 *
 * parse → plan (every check that needs no data) → execute over `QueryStores` ports. See README.md.
 */
export type { ArgumentNode, CallNode, ListValue, Name, QueryAst, RootNode, ScalarValue, Span, Unpositioned, ValueNode } from "./ast";
export { withoutPositions } from "./ast";
export { QueryError, isQueryError, type QueryErrorJson, type QueryErrorKind } from "./errors";
export { tokenize, type Token, type TokenKind } from "./lexer";
export { parseQuery } from "./parser";
export { printQuery, printValue, type PrintOptions } from "./printer";
export { DEFAULT_QUERY_LIMITS, LIMIT_NAMES, resolveLimits, type Clock, type QueryLimits } from "./limits";
export type { AttributeValue, ArgumentValue, BindingExpressionName, ParamSpec, ParamType, StreamType } from "./types";
export { BINDING_EXPRESSIONS } from "./types";
export type { OperatorDefinition, SizeRule } from "./operator";
export { OPERATORS } from "./operators";
export { operatorTable, type OperatorDescription } from "./describe";
export { ROOTS, analyzeQuery, planQuery, planReads, worstCaseSizes, type PlanOptions, type PlannedRoot, type PlannedStep, type QueryAnalysis, type QueryPlan, type RootName } from "./planner";
export type { Awaitable, QueryStores, ScoredId, Surface } from "./stores";
export { SURFACES } from "./stores";
export type { Candidate, PathStep } from "./stream";
export { executeQuery, type ExecuteOptions, type ExecutionTrace, type QueryContext, type QueryResult, type SeedInput, type StepTrace } from "./executor";
export { runQuery } from "./run";
export { InMemoryQueryStores, type InMemoryGraph } from "./in-memory-stores";
