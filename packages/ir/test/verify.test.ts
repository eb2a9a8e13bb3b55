// The verifier: valid functions give no errors; one deliberately broken function per check
// makes exactly that check fire, with its message, location and printed context.
import { describe, expect, it } from "vitest";
import { BasicBlock, Function, Instruction } from "../src/core.js";
import { Builder } from "../src/builder.js";
import { InternalError } from "../src/errors.js";
import { Module } from "../src/module.js";
import { printBlockRef, printFunctionHeader, printInstruction } from "../src/print.js";
import { i16, i32, i64, i8, ptr, ptrType, voidType } from "../src/types.js";
import { diamond, summingLoop as loop } from "@luabpf/test-support";
import { assertValid, CHECK_NAMES, CHECKS, formatVerifierErrors, verifyFunction, verifyModule, type VerifierError } from "../src/verify.js";

/** Memory, maps and calls: a stack slot, a map lookup through a helper, an atomic add, a callee. */
function memory() {
  const m = new Module();
  m.addMap({ name: "counts", kind: "array", key: i32, value: i64, maxEntries: 4, flags: 0 });
  const callee = m.addFunction("twice", [i64], i64);
  {
    const B = new Builder(callee);
    B.atEnd(callee.createBlock());
    B.ret(B.add(callee.params[0]!, callee.params[0]!));
  }
  const fn = m.addFunction("prog", [ptrType("ctx")], i32);
  fn.program = { section: "socket", type: "socket_filter" };
  const ctx = fn.params[0]!;
  const entry = fn.createBlock();
  const hit = fn.createBlock();
  const miss = fn.createBlock();
  const B = new Builder(fn);
  B.atEnd(entry);
  const key = B.alloca(4, 4);
  B.store(B.const(0, i32), key);
  const map = B.mapRef("counts");
  const value = B.callHelper(1, [map, key], ptrType("map_value_or_null"));
  const isNull = B.compare("eq", value, B.const(0, ptr));
  B.condBr(isNull, miss, hit);
  B.atEnd(hit);
  const field = B.ptrAdd(value, B.const(0));
  B.atomic("atomic.add", field, B.const(1));
  const old = B.load(i64, field, 0);
  const doubled = B.callFunction("twice", [old]);
  const byte = B.pktLoad(i8, ctx, B.const(14), 0);
  const wide = B.cast("zext", byte, i64);
  const sum = B.add(doubled, wide);
  const narrow = B.cast("trunc", sum, i32);
  B.ret(narrow);
  B.atEnd(miss).ret(B.const(0, i32));
  return { m, fn, callee, entry, hit, miss, key, map, value, field, old, doubled, narrow, B };
}

/** Asserts that every error comes from `check` (and that there is at least one). */
function onlyCheck(errors: VerifierError[], check: string): VerifierError[] {
  expect(CHECK_NAMES.includes(check) || check === "module").toBe(true);
  expect(errors.length).toBeGreaterThan(0);
  expect(errors.map((e) => e.check)).toEqual(errors.map(() => check));
  return errors;
}

/** The single error of `check` located at `inst`. */
function expectOneAt(errors: VerifierError[], check: string, inst: Instruction, message: string | RegExp): VerifierError {
  onlyCheck(errors, check);
  expect(errors).toHaveLength(1);
  const e = errors[0]!;
  expect(e.instruction).toBe(inst.id);
  if (inst.block) expect(e.block).toBe(inst.block.id);
  expect(e.context).toBe(printInstruction(inst));
  if (typeof message === "string") expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
  return e;
}

function expectOneAtBlock(errors: VerifierError[], check: string, bb: BasicBlock, message: string | RegExp): VerifierError {
  onlyCheck(errors, check);
  expect(errors).toHaveLength(1);
  const e = errors[0]!;
  expect(e.block).toBe(bb.id);
  expect(e.instruction).toBeUndefined();
  expect(e.context).toBe(`${printBlockRef(bb)}:`);
  if (typeof message === "string") expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
  return e;
}

describe("valid functions", () => {
  it("a diamond with a phi", () => {
    const { fn, m } = diamond();
    expect(verifyFunction(fn)).toEqual([]);
    expect(verifyModule(m)).toEqual([]);
  });
  it("a loop with phis", () => {
    const { m } = loop();
    expect(verifyModule(m)).toEqual([]);
  });
  it("memory, maps, helper and function calls, program metadata", () => {
    const { m } = memory();
    expect(verifyModule(m)).toEqual([]);
  });
  it("an unreachable, well-formed block ending in `unreachable`, using reachable values", () => {
    const { fn, a, x, B } = diamond();
    const dead = fn.createBlock();
    B.atEnd(dead);
    const t = B.add(a, B.const(3));
    B.copy(t);
    B.unreachable();
    expect(verifyFunction(fn)).toEqual([]);
    // Dominance is not checked in unreachable code: a use of an arm's value is fine there.
    B.before(dead.terminator!).copy(x);
    expect(verifyFunction(fn)).toEqual([]);
  });
  it("a condbr with both targets equal, and a phi with two pairs from it", () => {
    const fn = new Function("same", [i64], i64);
    const entry = fn.createBlock();
    const join = fn.createBlock();
    const B = new Builder(fn);
    B.atEnd(entry).condBr(fn.params[0]!, join, join);
    B.atEnd(join);
    const p = B.phi(i64);
    p.addIncoming(B.const(1), entry);
    p.addIncoming(B.const(2), entry);
    B.ret(p);
    expect(verifyFunction(fn)).toEqual([]);
  });
  it("a void function and a phi of untagged pointers fed by tagged ones", () => {
    const fn = new Function("v", [ptrType("stack"), ptrType("ctx"), i64], voidType);
    const [s, c, k] = fn.params as [any, any, any];
    const [entry, t, f, j] = [fn.createBlock(), fn.createBlock(), fn.createBlock(), fn.createBlock()];
    const B = new Builder(fn);
    B.atEnd(entry).condBr(k, t, f);
    B.atEnd(t).br(j);
    B.atEnd(f).br(j);
    B.atEnd(j);
    const p = B.phi(ptr);
    p.addIncoming(s, t);
    p.addIncoming(c, f);
    B.store(k, p, 8);
    B.ret();
    expect(verifyFunction(fn)).toEqual([]);
  });
});

describe("one broken function per check", () => {
  it("every check is exercised below", () => {
    expect(CHECKS.map((c) => c.name)).toEqual([
      "duplicate-ids",
      "block-parent",
      "instruction-list",
      "terminator",
      "phi-placement",
      "entry-block",
      "branch-targets",
      "operand-count",
      "types",
      "attributes",
      "symbols",
      "foreign-values",
      "users",
      "predecessors",
      "phi-incoming",
      "ssa-dominance",
      "unreachable-code",
      "program",
    ]);
    for (const c of CHECKS) expect(c.description.length).toBeGreaterThan(10);
  });

  it("duplicate-ids: two instructions with one id", () => {
    const { fn, r, a } = diamond();
    const dup = fn.createInstruction("copy", i64, i64, [a], {}, r.id);
    dup.insertBefore(r);
    const errors = verifyFunction(fn);
    onlyCheck(errors, "duplicate-ids");
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toBe(`value id %${r.id} is used by two values (instruction and instruction)`);
    expect([dup.id]).toContain(errors[0]!.instruction);
  });

  it("duplicate-ids: two blocks with one id", () => {
    const { fn, join } = diamond();
    const clone = fn.createBlock({ id: join.id });
    new Builder(fn).atEnd(clone).unreachable();
    expectOneAtBlock(verifyFunction(fn), "duplicate-ids", clone, `block id ${join.id} is used by two blocks`);
  });

  it("block-parent: a block whose parent is another function", () => {
    const { fn, join } = diamond();
    const other = new Function("other", [], voidType);
    join.parent = other;
    expectOneAtBlock(verifyFunction(fn), "block-parent", join, "block's parent is function other");
  });

  it("block-parent: a block listed twice", () => {
    const { fn, right } = diamond();
    fn.blocks.push(right);
    expectOneAtBlock(verifyFunction(fn), "block-parent", right, "block is listed twice in the function");
  });

  it("instruction-list: wrong size", () => {
    const { fn, left } = diamond();
    left.size = 5;
    expectOneAtBlock(verifyFunction(fn), "instruction-list", left, "size is 5 but the block holds 2 instructions");
  });

  it("instruction-list: wrong back pointer and prev link", () => {
    const { fn, x, y, left, right } = diamond();
    x.block = right;
    const e1 = verifyFunction(fn);
    x.block = left;
    // Located in the block whose list holds it.
    expectOneAt(e1, "instruction-list", x, `instruction is linked into ${printBlockRef(left)} but its block is ${printBlockRef(right)}`);
    x.block = left;
    const br = left.terminator!;
    br.prev = y;
    expectOneAt(verifyFunction(fn), "instruction-list", br, `prev link is %${y.id}, expected %${x.id}`);
  });

  it("instruction-list: a cyclic list does not hang the verifier", () => {
    const { fn, left, x } = diamond();
    const br = left.terminator!;
    br.next = x;
    const errors = verifyFunction(fn);
    onlyCheck(errors, "instruction-list");
    expect(errors.map((e) => e.message)).toContain(`instruction list of ${printBlockRef(left)} is cyclic or too long`);
  });

  it("terminator: an empty block", () => {
    const { fn } = diamond();
    const empty = fn.createBlock();
    expectOneAtBlock(verifyFunction(fn), "terminator", empty, "block is empty (it needs a terminator)");
  });

  it("terminator: a block not ending in a terminator", () => {
    const { fn, right, join, y } = diamond();
    join.phis()[0]!.removeIncoming(right);
    right.terminator!.erase();
    expectOneAt(verifyFunction(fn), "terminator", y, `block ${printBlockRef(right)} does not end in a terminator`);
  });

  it("terminator: a terminator in the middle of a block", () => {
    const { fn, r } = diamond();
    const u = fn.createInstruction("unreachable", voidType, voidType);
    u.insertBefore(r);
    expectOneAt(verifyFunction(fn), "terminator", u, `terminator unreachable in the middle of ${printBlockRef(r.block!)}`);
  });

  it("phi-placement: a phi after a non-phi", () => {
    const { fn, phi, r } = diamond();
    phi.moveAfter(r);
    // r now uses phi before its definition: move r's use away to isolate the check.
    r.setOperand(0, fn.params[1]!);
    expectOneAt(verifyFunction(fn), "phi-placement", phi, `phi after non-phi %${r.id} (phis must open the block)`);
  });

  it("entry-block: an edge back into the entry", () => {
    const { fn, entry, right, join } = diamond();
    const b = new Builder(fn);
    const br = right.terminator!;
    br.erase();
    join.phis()[0]!.removeIncoming(right);
    b.atEnd(right).br(entry);
    expectOneAtBlock(verifyFunction(fn), "entry-block", entry, `entry block has predecessors: ${printBlockRef(right)}`);
  });

  it("entry-block: a function without blocks", () => {
    const fn = new Function("empty", [], voidType);
    const errors = verifyFunction(fn);
    onlyCheck(errors, "entry-block");
    expect(errors[0]!.message).toBe("function has no blocks");
    expect(errors[0]!.context).toBe(printFunctionHeader(fn));
  });

  it("branch-targets: a branch into another function", () => {
    const { fn, right, join } = diamond();
    const other = new Function("other", [], voidType);
    const foreign = other.createBlock();
    new Builder(other).atEnd(foreign).ret();
    const br = right.terminator!;
    join.phis()[0]!.removeIncoming(right);
    br.setTarget(0, foreign);
    expectOneAt(verifyFunction(fn), "branch-targets", br, `target 0 ${printBlockRef(foreign)} is not a block of this function`);
  });

  it("operand-count: an add with one operand, a br with two targets", () => {
    const { fn, a, r, left } = diamond();
    const bad = fn.createInstruction("add", i64, i64, [a]);
    bad.insertBefore(r);
    expectOneAt(verifyFunction(fn), "operand-count", bad, "add takes 2 operand(s), has 1");
    bad.erase();
    const br = left.terminator!;
    br.targets.push(left); // bypasses the preds bookkeeping on purpose; also fix preds by hand
    left.preds.push(left);
    expectOneAt(verifyFunction(fn), "operand-count", br, "br takes 1 target(s), has 2");
  });

  it("operand-count: a ret with two values", () => {
    const { fn, r, a } = diamond();
    const ret = r.block!.terminator!;
    ret.appendOperand(a);
    expectOneAt(verifyFunction(fn), "operand-count", ret, "ret takes at most one operand, has 2");
  });

  describe("types", () => {
    it("binary operands of different types", () => {
      const { fn, x, a } = diamond();
      x.setOperand(1, fn.constant(i32, 1));
      expectOneAt(verifyFunction(fn), "types", x, `operand 1 (1) has type i32, expected i64`);
      x.setOperand(1, a);
    });
    it("a compare whose result is not i64", () => {
      const { fn, c } = diamond();
      c.type = i32;
      expectOneAt(verifyFunction(fn), "types", c, "result type is i32, expected i64");
    });
    it("a widening trunc and a narrowing zext", () => {
      const { fn, a, r } = diamond();
      const t = fn.createInstruction("trunc", i64, i32, [fn.constant(i32, 0)]);
      t.insertBefore(r);
      expectOneAt(verifyFunction(fn), "types", t, "trunc from i32 to i64 is not a narrowing");
      t.erase();
      const z = fn.createInstruction("zext", i32, i64, [a]);
      z.insertBefore(r);
      expectOneAt(verifyFunction(fn), "types", z, "zext from i64 to i32 is not a widening");
    });
    it("a load from an integer address", () => {
      const { fn, a, r } = diamond();
      const l = fn.createInstruction("load", i64, i64, [a]);
      l.insertBefore(r);
      expectOneAt(verifyFunction(fn), "types", l, `operand 0 (%${a.id}) has type i64, expected a pointer address`);
    });
    it("a store to an integer address", () => {
      const { fn, a, r } = diamond();
      const s = fn.createInstruction("store", voidType, i64, [a, a]);
      s.insertBefore(r);
      expectOneAt(verifyFunction(fn), "types", s, `operand 1 (%${a.id}) has type i64, expected a pointer address`);
    });
    it("ret type mismatch and void function returning a value", () => {
      const { fn, r } = diamond();
      const ret = r.block!.terminator!;
      ret.setOperand(0, fn.constant(i16, 4));
      expectOneAt(verifyFunction(fn), "types", ret, "returned value 4 has type i16, function returns i64");
      ret.setOperand(0, r);
      fn.returnType = voidType;
      const errors = verifyFunction(fn);
      expectOneAt(errors, "types", ret, "void function diamond returns a value");
      fn.returnType = i64;
      ret.removeOperand(0);
      expectOneAt(verifyFunction(fn), "types", ret, "function diamond returns i64, but ret has no value");
    });
    it("a condbr on a pointer", () => {
      const { fn, entry, c } = diamond();
      const br = entry.terminator!;
      const p = fn.createInstruction("alloca", ptrType("stack"), ptrType("stack"), [], { size: 8, align: 8 });
      p.insertBefore(c);
      br.setOperand(0, p);
      expectOneAt(verifyFunction(fn), "types", br, `operand 0 (%${p.id}) has type ptr.stack, expected an integer condition`);
    });
    it("an atomic on i16, a pktload of 8 bytes", () => {
      const { fn, field, old, hit } = memory();
      const at = fn.createInstruction("atomic.add", voidType, i16, [field, fn.constant(i16, 1)]);
      at.insertBefore(old);
      expectOneAt(verifyFunction(fn), "types", at, "atomic operations work on i32 or i64, not i16");
      at.erase();
      const pk = fn.createInstruction("pktload", i64, i64, [fn.params[0]!, fn.constant(i64, 0)]);
      pk.insertBefore(hit.terminator!);
      expectOneAt(verifyFunction(fn), "types", pk, "pktload reads at most 4 bytes, not i64");
    });
    it("a phi with an operand of another type", () => {
      const { fn, phi, left } = diamond();
      phi.setOperand(phi.incomingIndex(left), fn.constant(i32, 9));
      expectOneAt(verifyFunction(fn), "types", phi, "operand 0 (9) has type i32, expected i64");
    });
    it("select arms of different types, ptradd with an i32 offset", () => {
      const { fn, field } = memory();
      const s = fn.createInstruction("select", i64, i64, [fn.constant(i64, 1), fn.constant(i64, 1), fn.constant(i32, 1)]);
      s.insertAfter(field);
      expectOneAt(verifyFunction(fn), "types", s, "operand 2 (1) has type i32, expected i64");
      s.erase();
      field.setOperand(1, fn.constant(i32, 0));
      expectOneAt(verifyFunction(fn), "types", field, "operand 1 (0) has type i32, expected i64");
    });
  });

  it("attributes: alloca of size 0, negative helper id, call with both targets", () => {
    const { fn, key, value } = memory();
    key.size = 0;
    expectOneAt(verifyFunction(fn), "attributes", key, "alloca size 0 is not a positive integer");
    key.size = 4;
    key.align = 3;
    expectOneAt(verifyFunction(fn), "attributes", key, "alloca alignment 3 is not a power of two");
    key.align = 4;
    value.helper = -1;
    expectOneAt(verifyFunction(fn), "attributes", value, "helper id -1 is not a non-negative integer");
    value.helper = 1;
    value.callee = "twice";
    expectOneAt(verifyFunction(fn), "attributes", value, "call needs exactly one of a helper id and a callee");
  });

  it("symbols: undeclared map, unknown callee, arity mismatch (only with a module)", () => {
    const { m, fn, map, doubled, old } = memory();
    map.map = "nope";
    expect(verifyFunction(fn)).toEqual([]);
    expectOneAt(verifyFunction(fn, m), "symbols", map, "map @nope is not declared in the module");
    expectOneAt(verifyModule(m), "symbols", map, "map @nope is not declared in the module");
    map.map = "counts";
    doubled.callee = "thrice";
    expectOneAt(verifyFunction(fn, m), "symbols", doubled, "callee @thrice is not a function of the module");
    doubled.callee = "twice";
    doubled.appendOperand(old);
    expectOneAt(verifyFunction(fn, m), "symbols", doubled, "callee @twice takes 1 argument(s), call passes 2");
  });

  describe("foreign-values", () => {
    it("an instruction of another function", () => {
      const { fn, x } = diamond();
      const other = loop();
      x.setOperand(0, other.i2);
      expectOneAt(verifyFunction(fn), "foreign-values", x, `operand 0 is %${other.i2.id} (add) from function loop`);
    });
    it("a parameter and a constant of another function", () => {
      const { fn, x } = diamond();
      const other = new Function("o", [i64], i64);
      x.setOperand(0, other.params[0]!);
      expectOneAt(verifyFunction(fn), "foreign-values", x, `operand 0 is parameter %0 of another function`);
      x.setOperand(0, other.constant(i64, 77));
      expectOneAt(verifyFunction(fn), "foreign-values", x, `operand 0 is constant 77 not interned in this function`);
    });
    it("an erased instruction", () => {
      const { fn, x, phi } = diamond();
      // Erase x behind the users list's back (what a buggy pass might do with unlink + dropOperands).
      x.unlink();
      x.dropOperands();
      expectOneAt(verifyFunction(fn), "foreign-values", phi, `operand 0 is %${x.id} (add) which is not linked into any block (erased or unlinked)`);
    });
  });

  describe("users", () => {
    it("a stale entry", () => {
      const { fn, a, r } = diamond();
      // Behind the users list's back: an entry no operand slot has.
      a.attachUse(r, 0);
      const errors = verifyFunction(fn);
      onlyCheck(errors, "users");
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toBe(`users list of %${a.id} holds a stale entry (%${r.id}, 0)`);
      expect(errors[0]!.context).toBe(`param %${a.id}: i64`);
    });
    it("a missing entry on a constant", () => {
      const { fn, x } = diamond();
      const one = x.operand(1);
      one.detachUse(x, 1);
      expectOneAt(verifyFunction(fn), "users", x, `users list of 1 lacks the entry for operand 1 of %${x.id}`);
    });
    it("a duplicate entry", () => {
      const { fn, x, phi } = diamond();
      x.attachUse(phi, 0);
      expectOneAt(verifyFunction(fn), "users", x, `users list of %${x.id} holds (%${phi.id}, 0) twice`);
    });
    it("an entry for an instruction unlinked but not erased", () => {
      const { fn, r, a } = diamond();
      const dead = fn.createInstruction("copy", i64, i64, [a]);
      dead.insertBefore(r);
      expect(verifyFunction(fn)).toEqual([]);
      dead.unlink();
      const errors = verifyFunction(fn);
      onlyCheck(errors, "users");
      expect(errors[0]!.message).toBe(`users list of %${a.id} holds (%${dead.id}, 0), an instruction not linked into this function`);
    });
  });

  it("predecessors: a stale and a missing entry", () => {
    const { fn, join, entry, left } = diamond();
    join.preds.push(entry);
    expectOneAtBlock(verifyFunction(fn), "predecessors", join, `predecessor list disagrees with the terminators: stale ${printBlockRef(entry)}`);
    join.preds.pop();
    join.preds.splice(join.preds.indexOf(left), 1);
    expectOneAtBlock(verifyFunction(fn), "predecessors", join, `predecessor list disagrees with the terminators: missing ${printBlockRef(left)}`);
  });

  it("phi-incoming: a missing pair, a pair from a non-predecessor", () => {
    const { fn, phi, left, entry } = diamond();
    phi.removeIncoming(left);
    expectOneAt(verifyFunction(fn), "phi-incoming", phi, `phi lacks incoming value(s) from predecessor(s) ${printBlockRef(left)}`);
    phi.addIncoming(fn.constant(i64, 5), entry);
    const errors = verifyFunction(fn);
    onlyCheck(errors, "phi-incoming");
    expect(errors.map((e) => e.message)).toEqual([
      `phi lacks incoming value(s) from predecessor(s) ${printBlockRef(left)}`,
      `phi has incoming value(s) from ${printBlockRef(entry)}, which is not a predecessor (or too many)`,
    ]);
  });

  it("phi-incoming: the loop header phi with one pair too many", () => {
    const { fn, i, body } = loop();
    i.addIncoming(fn.constant(i64, 0), body);
    expectOneAt(verifyFunction(fn), "phi-incoming", i, `phi has incoming value(s) from ${printBlockRef(body)}, which is not a predecessor (or too many)`);
  });

  describe("ssa-dominance", () => {
    it("a use before its definition in one block", () => {
      const { fn, s2, i2 } = loop();
      s2.setOperand(1, i2);
      expectOneAt(verifyFunction(fn), "ssa-dominance", s2, `operand 1 %${i2.id} (defined in @bb2) does not dominate its use in @bb2`);
    });
    it("an instruction using itself", () => {
      const { fn, x } = diamond();
      x.setOperand(0, x);
      expectOneAt(verifyFunction(fn), "ssa-dominance", x, `operand 0 %${x.id} (defined in @bb1) does not dominate its use in @bb1`);
    });
    it("a use of one arm's value in the join", () => {
      const { fn, r, x } = diamond();
      r.setOperand(1, x);
      expectOneAt(verifyFunction(fn), "ssa-dominance", r, `operand 1 %${x.id} (defined in @bb1) does not dominate its use in @bb3`);
    });
    it("a phi operand not available at the end of its incoming block", () => {
      const { fn, phi, x, right } = diamond();
      phi.setOperand(phi.incomingIndex(right), x);
      expectOneAt(verifyFunction(fn), "ssa-dominance", phi, `operand 1 %${x.id} (defined in @bb1) does not dominate its use at the end of @bb2`);
    });
  });

  it("unreachable-code: a reachable use of a value defined in an unreachable block", () => {
    const { fn, r, B, a } = diamond();
    const dead = fn.createBlock();
    B.atEnd(dead);
    const d = B.add(a, a);
    B.unreachable();
    r.setOperand(1, d);
    expectOneAt(verifyFunction(fn), "unreachable-code", r, `operand 1 %${d.id} is defined in unreachable @bb4 but used in reachable @bb3`);
  });

  it("program: empty section", () => {
    const { fn } = memory();
    fn.program = { section: "", type: "socket_filter" };
    const errors = verifyFunction(fn);
    onlyCheck(errors, "program");
    expect(errors).toEqual([{ check: "program", message: "program section is empty", function: "prog", context: printFunctionHeader(fn) }]);
  });

  it("module: duplicate function names", () => {
    const { m } = diamond();
    const twin = new Function("diamond", [], voidType);
    new Builder(twin).atEnd(twin.createBlock()).ret();
    m.functions.push(twin);
    const errors = verifyModule(m);
    onlyCheck(errors, "module");
    expect(errors[0]!.message).toBe("function @diamond is defined twice");
  });
});

describe("reporting", () => {
  it("collects every error of every check, in check order", () => {
    const { fn, x, join, r } = diamond();
    x.setOperand(1, fn.constant(i32, 1));
    join.preds.push(join);
    r.setOperand(1, x);
    const errors = verifyFunction(fn);
    expect(errors.map((e) => e.check)).toEqual(["types", "predecessors", "ssa-dominance"]);
  });

  it("formats errors with check, location, message and context", () => {
    const { fn, x } = diamond();
    x.setOperand(1, fn.constant(i32, 1));
    const text = formatVerifierErrors(verifyFunction(fn));
    expect(text).toBe(`[types] @diamond @bb1 %${x.id}: operand 1 (1) has type i32, expected i64\n    ${printInstruction(x)}`);
  });

  it("assertValid throws an InternalError naming the stage and listing all errors", () => {
    const { m, fn, x, r } = diamond();
    expect(() => assertValid(m, "after pass nothing")).not.toThrow();
    expect(() => assertValid(fn)).not.toThrow();
    x.setOperand(1, fn.constant(i32, 1));
    r.setOperand(1, x);
    let thrown: unknown;
    try {
      assertValid(m, "after pass broken");
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InternalError);
    const msg = (thrown as Error).message;
    expect(msg).toContain("invalid IR after pass broken (2 errors)");
    expect(msg).toContain("[types]");
    expect(msg).toContain("[ssa-dominance]");
  });
});
