/** The candidate sources of Explore's retrieval stage (a module of its own: the config and the value model both name them). */
export const SOURCE_NAMES = ["two_tower", "history", "cooccurrence", "authors", "trending", "popular", "graph"] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];
