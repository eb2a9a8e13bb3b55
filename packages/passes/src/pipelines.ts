/**
 * The built-in registry and the canned optimisation pipelines.
 *
 * -O0 runs nothing; -O1 inlines small functions, folds constants, simplifies, removes
 * dead code and cleans the CFG once; -O2 adds value numbering and strength reduction and runs the scalar
 * cleanup twice, since CFG simplification exposes new constants (merged blocks, threaded
 * jumps) and value numbering exposes new dead code. Redundant stores go first (a key
 * slot stored again with the same value); after value numbering has merged the `mapref`s,
 * a repeated lookup of that key reuses the first, and correlated-branch folds its
 * now-repeated null check; packet-bounds, also after value numbering has merged packet base
 * pointers, keeps one packet bounds check per header (XDP). range-simplify uses what the verifier knows of each value
 * (zero-extended context fields, masks, branch facts). hoist-common, after the second
 * value numbering, computes once before a branch what both its sides compute (xdp-sketch's
 * header length and transport address); sink-common merges the identical tails of a join's predecessors (simplify-cfg then
 * drops the emptied blocks and shares the return blocks). The tail is for size:
 * update-to-store turns an array map's update of an element just looked up into a store
 * through the lookup's pointer, dead-store removes stores every path overwrites before
 * reading (a struct's zeroing, the slots such an update no longer reads), merge-stores
 * joins the stores of a value's two halves, redundant-store runs again for the key slots
 * value numbering has made equal; hoist-stores stores values into stack slots where they are produced (not kept in a
 * register across a call), if-convert turns branches that only choose a value or a return
 * into selects (one shared exit; the backend's conditional move), sink-loads moves a
 * value loaded behind a nil test to where a later test of the same pointer uses it (the
 * first test then goes), then dce and a last simplify-cfg clean up.
 */
import { markBuiltIn, type Pass } from "./pass.js";
import { PassRegistry } from "./registry.js";
import { dce } from "./passes/dce.js";
import { gvn } from "./passes/gvn.js";
import { instcombine } from "./passes/instcombine.js";
import { sccp } from "./passes/sccp.js";
import { simplifyCfg } from "./passes/simplify-cfg.js";
import { strengthReduce } from "./passes/strength-reduce.js";
import { redundantStore } from "./passes/redundant-store.js";
import { mapLookupCse } from "./passes/map-lookup-cse.js";
import { correlatedBranch } from "./passes/correlated-branch.js";
import { inline } from "./passes/inline.js";
import { licm } from "./passes/licm.js";
import { loopSimplify } from "./passes/loop-simplify.js";
import { rangeSimplify } from "./passes/range-simplify.js";
import { ifConvert } from "./passes/if-convert.js";
import { hoistStores } from "./passes/hoist-stores.js";
import { packetBounds } from "./passes/packet-bounds.js";
import { sinkCommon } from "./passes/sink-common.js";
import { sinkLoads } from "./passes/sink-loads.js";
import { hoistCommon } from "./passes/hoist-common.js";
import { deadStore } from "./passes/dead-store.js";
import { mergeStores } from "./passes/merge-stores.js";
import { updateToStore } from "./passes/update-to-store.js";
import { unroll } from "./passes/unroll.js";
import { loopReduce } from "./passes/loop-reduce.js";
import { loopDelete } from "./passes/loop-delete.js";
import { loopTerm } from "./passes/loop-term.js";
import { callSlot } from "./passes/call-slot.js";

const BUILT_IN = [
  sccp,
  instcombine,
  dce,
  gvn,
  simplifyCfg,
  strengthReduce,
  redundantStore,
  mapLookupCse,
  correlatedBranch,
  inline,
  loopSimplify,
  licm,
  rangeSimplify,
  ifConvert,
  hoistStores,
  packetBounds,
  sinkCommon,
  sinkLoads,
  hoistCommon,
  deadStore,
  mergeStores,
  updateToStore,
  unroll,
  loopReduce,
  loopDelete,
  loopTerm,
  callSlot,
];
markBuiltIn(...BUILT_IN);

/** Every built-in pass by name. `defaultRegistry.clone().register(myPass)` to extend it. */
export const defaultRegistry: PassRegistry = new PassRegistry().register(...BUILT_IN);

/** Optimisation levels. */
export type OptLevel = 0 | 1 | 2;

/** The pipeline text of each level (what `-O<n>` runs). */
export const PIPELINES: Readonly<Record<OptLevel, string>> = {
  0: "",
  1: "inline,sccp,instcombine,dce,simplify-cfg",
  2: "inline,sccp,instcombine,simplify-cfg,range-simplify,redundant-store,gvn,packet-bounds,map-lookup-cse,correlated-branch,strength-reduce,instcombine,dce,simplify-cfg,loop-delete,unroll,loop-reduce,sccp,gvn,hoist-common,sink-common,dce,simplify-cfg,update-to-store,dead-store,merge-stores,redundant-store,hoist-stores,if-convert,sink-loads,loop-term,call-slot,dce,simplify-cfg",
};

for (const [level, text] of Object.entries(PIPELINES)) defaultRegistry.defineAlias(`O${level}`, text);

/** The passes of `-O<level>` (a new array; the pass objects are shared: see {@link PassRegistry.parse}). */
export function pipelineForLevel(level: OptLevel, registry: PassRegistry = defaultRegistry): Pass[] {
  const text = PIPELINES[level];
  if (text === undefined) throw new RangeError(`no optimisation level ${String(level)} (valid: 0, 1, 2)`);
  return registry.parse(text);
}

/** Builds a pipeline from text with the default registry (see {@link PassRegistry.parse}). */
export function parsePipeline(text: string, registry: PassRegistry = defaultRegistry): Pass[] {
  return registry.parse(text);
}
