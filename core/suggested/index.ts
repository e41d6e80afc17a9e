/**
 * Suggested Posts at the end of the Home feed (shared/seeds/004): seeds from Home (H), other surfaces (R) and
 * fallback graph exploration (F), each expanded by sourcing queries (core/query) over the serving stores, merged
 * H >> R >> F, ranked by the MTML with the log-linear value model, diversified round robin by seed; cold users get
 * popular media. See README.md.
 */
export {
  COLD_START_BUDGET_FACTOR,
  COLD_START_REQUESTS,
  DEFAULT_SUGGESTED_QUERIES,
  SEED_TYPES,
  SUGGESTED_EMBEDDING_CONFIGS,
  SUGGESTED_RANKING_MODELS,
  checkSuggestedQuery,
  seedBinding,
  suggestedConfigSchema,
  suggestedPlanOptions,
  type SeedType,
  type SuggestedConfig,
  type SuggestedRankingModel,
  type SuggestionSource,
} from "../config/suggested";
export { roundRobinBySeed, type RoundRobinOptions, type SeededItem } from "./diversify";
export { SUGGESTED_STAGES, assembleSuggestions, createSuggestedState, gatherSuggestionCandidates, suggestPosts, suggestedPlans, type PoolEntry, type SuggestedRun, type SuggestedState, type Suggestion, type SuggestedFeed, type SuggestedQueryRun, type SuggestedRequest, type SuggestionCandidates } from "./suggest";
export { UserEngagementLog } from "../funnel/user-log";
