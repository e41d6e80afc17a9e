export * from "./assign";
export * from "./attribute";
export * from "./stats";
