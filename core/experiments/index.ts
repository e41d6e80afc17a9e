export * from "./assign";
export * from "./attribute";
export * from "./serve";
export * from "./stats";
