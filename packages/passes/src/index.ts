/**
 * @luabpf/passes — the optimiser: a pass manager with an analysis manager, a textual
 * pipeline registry, a generic dataflow solver, liveness, and the scalar passes
 * (sccp, instcombine, dce, gvn, simplify-cfg, strength-reduce).
 *
 * ```ts
 * import { PassManager, parsePipeline, pipelineForLevel } from "@luabpf/passes";
 * const pm = new PassManager(parsePipeline("sccp,dce(aggressive=false)"), { verify: true });
 * const report = pm.run(module);
 * console.log(formatStatistics(report));
 * ```
 *
 * See docs/writing-a-pass.md and docs/passes.md.
 *
 * @packageDocumentation
 */
export { AnalysisManager, Preserved, StaleAnalysisError, defineAnalysis, type AnalysisKey, type FunctionAnalyses } from "./analysis-manager.js";
export {
  defineFunctionPass,
  defineModulePass,
  passToString,
  type FunctionPass,
  type FunctionPassContext,
  type ModulePass,
  type ModulePassContext,
  type OptionDecl,
  type OptionDecls,
  type OptionInput,
  type OptionValues,
  type OptionsSchema,
  type Pass,
  type PassFactory,
  type PassOptions,
  type PassResult,
  type PassSpec,
} from "./pass.js";
export {
  PassError,
  PassManager,
  PassVerificationError,
  formatPassTimes,
  formatStatistics,
  type PassManagerOptions,
  type PassRecord,
  type PipelineReport,
} from "./pass-manager.js";
export { PassRegistry, PipelineError, describeOptions } from "./registry.js";
export { PassLoadError, loadPassModule, passFactoriesOf } from "./load.js";
export { REFERENCE_BEGIN, REFERENCE_END, passReference } from "./reference.js";
export { diffLines, unifiedDiff, type DiffLine } from "./util/diff.js";
export { PIPELINES, defaultRegistry, parsePipeline, pipelineForLevel, type OptLevel } from "./pipelines.js";
export { solveDataflow, type DataflowProblem, type DataflowResult, type Lattice } from "./dataflow.js";
export { blockOrderAnalysis, dominanceFrontierAnalysis, dominatorTreeAnalysis, loopInfoAnalysis, postDominatorTreeAnalysis, type BlockOrder } from "./analysis/cfg.js";
export { CENSUS_OPCODES, censusAnalysis, type CensusOpcode, type OpcodeCensus } from "./analysis/census.js";
export { Liveness, computeLiveness, livenessAnalysis, type LiveRange, type LiveSegment } from "./analysis/liveness.js";
export { BitSet } from "./util/bitset.js";
export { evaluate, isFoldable, log2Exact, shiftAmount, tryEvaluate, type FoldableOpcode } from "./util/fold.js";
export { OVERDEFINED, sccp, solveSccp, type LatticeValue, type SccpResult } from "./passes/sccp.js";
export { meet } from "./util/constant-lattice.js";
export { denseConstants, type ConstantFacts } from "./analysis/constants.js";
export { instcombine } from "./passes/instcombine.js";
export { dce, writeOnlySlots } from "./passes/dce.js";
export { gvn } from "./passes/gvn.js";
export { simplifyCfg } from "./passes/simplify-cfg.js";
export { strengthReduce } from "./passes/strength-reduce.js";
export { redundantStore } from "./passes/redundant-store.js";
export { mapLookupCse } from "./passes/map-lookup-cse.js";
export { correlatedBranch } from "./passes/correlated-branch.js";
export { inline, inlineCall, cost as inlineCost } from "./passes/inline.js";
export { loopSimplify } from "./passes/loop-simplify.js";
export { licm } from "./passes/licm.js";
export { rangeSimplify } from "./passes/range-simplify.js";
export { ifConvert } from "./passes/if-convert.js";
export { hoistStores } from "./passes/hoist-stores.js";
export { sinkCommon } from "./passes/sink-common.js";
export { sinkLoads } from "./passes/sink-loads.js";
export { hoistCommon } from "./passes/hoist-common.js";
export { deadStore } from "./passes/dead-store.js";
export { mergeStores } from "./passes/merge-stores.js";
export { updateToStore } from "./passes/update-to-store.js";
export { packetBounds } from "./passes/packet-bounds.js";
export { unroll } from "./passes/unroll.js";
export { loopReduce } from "./passes/loop-reduce.js";
export { loopDelete } from "./passes/loop-delete.js";
export { loopTerm } from "./passes/loop-term.js";
export { callSlot } from "./passes/call-slot.js";
export { ORDERED_ABOVE, solveOrderFor, solveValueRanges, transferRange, valueRangesAnalysis, type SolveOrder, type ValueRanges } from "./analysis/value-ranges.js";
export * as rangeLattice from "./util/range-lattice.js";
export type { Range } from "./util/range-lattice.js";
export { callEffects, mayAlias } from "./util/memory.js";
export * from "./regalloc/index.js";
