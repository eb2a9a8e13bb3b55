/**
 * Analyses of the IR: block orders, dominators, post-dominators, dominance frontiers, natural loops,
 * the verifier's reference rule (acquired references released on every path), the
 * module's call graph, and graph views of the CFG.
 */
export * from "./order.js";
export * from "./dominators.js";
export * from "./postdominators.js";
export * from "./frontiers.js";
export * from "./loops.js";
export * from "./graph.js";
export * from "./callgraph.js";
export * from "./references.js";
