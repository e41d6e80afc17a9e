export * from "./context";
export * from "./counters";
export * from "./engagement";
export * from "./fit-spec";
export * from "./mtml-features";
export * from "./replay";
export * from "./spec";
export * from "./user-activity";
