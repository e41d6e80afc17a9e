export * from "./decayed-counter";
export * from "./events";
export * from "./ingest-batch";
export * from "./snapshot-engagements";
export * from "./trending-weights";
