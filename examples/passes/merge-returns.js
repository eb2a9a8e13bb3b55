// merge-returns: gives a function a single exit. Every block ending in `ret` jumps instead
// to one new block that returns a phi of the values (clang -O2 does the same for BPF
// programs). A pass from outside luabpf: load it with
//   luabpf opt prog.ir --load-pass examples/passes/merge-returns.js --passes merge-returns
import { voidType } from "@luabpf/ir";
import { defineFunctionPass } from "@luabpf/passes";

export const mergeReturns = defineFunctionPass({
  name: "merge-returns",
  description: "make every return jump to one exit block that returns a phi of the values",
  run(fn, ctx) {
    const rets = fn.blocks.map((bb) => bb.terminator).filter((t) => t?.opcode === "ret");
    if (rets.length < 2) return false;
    const exit = fn.createBlock();
    const value = fn.returnType.kind === "void" ? undefined : fn.createInstruction("phi", fn.returnType, fn.returnType);
    if (value) exit.append(value);
    for (const ret of rets) {
      const bb = ret.block;
      if (value) value.addIncoming(ret.operands[0], bb);
      ret.erase();
      const br = fn.createInstruction("br", voidType, voidType);
      br.targets.push(exit);
      bb.append(br);
    }
    const ret = fn.createInstruction("ret", voidType, voidType, value ? [value] : []);
    exit.append(ret);
    ctx.stat("returns-merged", rets.length);
    return true;
  },
});
