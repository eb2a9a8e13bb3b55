/**
 * Analyses of the IR: block orders, dominators, post-dominators, dominance frontiers, natural loops, and
 * graph views of the CFG.
 */
export * from "./order.js";
export * from "./dominators.js";
export * from "./postdominators.js";
export * from "./frontiers.js";
export * from "./loops.js";
export * from "./graph.js";
