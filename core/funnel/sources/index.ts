import type { SourceName } from "../config";
import { authorsSource } from "./authors";
import { cooccurrenceSource } from "./cooccurrence";
import { graphSource } from "./graph";
import { historySource } from "./history";
import { popularSource, trendingSource } from "./lists";
import type { CandidateSource } from "./source";
import { twoTowerSource } from "./two-tower";

export const EXPLORE_SOURCES: Readonly<Record<SourceName, CandidateSource>> = {
  two_tower: twoTowerSource,
  history: historySource,
  cooccurrence: cooccurrenceSource,
  authors: authorsSource,
  trending: trendingSource,
  popular: popularSource,
  graph: graphSource,
};

export type { CandidateSource, SourceResult } from "./source";
