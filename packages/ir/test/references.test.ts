// The reference rule (analysis/references.ts): ring buffer records reserved and submitted
// or discarded on every path, null tests that end a path, leaks through returns and loops,
// and uses after submission.
import { BPF_FUNC } from "@luabpf/platform";
import { describe, expect, it } from "vitest";
import { checkReferences, parseModule, type Function } from "../src/index.js";

const RESERVE = BPF_FUNC.ringbuf_reserve;
const SUBMIT = BPF_FUNC.ringbuf_submit;
const DISCARD = BPF_FUNC.ringbuf_discard;

/** A function with a map @rb declared; `body` is its blocks. */
function fn(body: string): Function {
  const m = parseModule(`map @rb : ringbuf, key i32, value i32, max_entries 4096, flags 0\n\nfunc @f(i64 %0) -> i64 {\n${body}}\n`);
  return m.functions[0]!;
}

const reserve = `  %1 = mapref @rb\n  %2 = call ptr helper ${RESERVE} (%1, 16, 0)\n`;

function summary(f: Function): string[] {
  const { leaks, usesAfterRelease } = checkReferences(f);
  return [
    ...leaks.map((l) => `leak %${l.acquire.id} at %${l.exit.id}${l.again ? " (again)" : ""}`),
    ...usesAfterRelease.map((u) => `use %${u.use.id} after %${u.release.id}`),
  ];
}

describe("reserved records", () => {
  it("accepts a record tested for null and submitted", () => {
    const f = fn(`@bb0:\n${reserve}  %3 = eq ptr %2, 0\n  condbr %3, @bb2, @bb1\n@bb1:\n  store i64 7, %2, 0\n  call void helper ${SUBMIT} (%2, 0)\n  br @bb2\n@bb2:\n  ret 0\n`);
    expect(summary(f)).toEqual([]);
  });

  it("accepts submit on one branch and discard on the other, and a merge through a phi", () => {
    const f = fn(
      `@bb0:\n${reserve}  %3 = ne ptr %2, 0\n  condbr %3, @bb1, @bb4\n@bb1:\n  condbr %0, @bb2, @bb3\n@bb2:\n  call void helper ${SUBMIT} (%2, 0)\n  br @bb4\n@bb3:\n  %4 = copy ptr %2\n  call void helper ${DISCARD} (%4, 0)\n  br @bb4\n@bb4:\n  ret 0\n`,
    );
    expect(summary(f)).toEqual([]);
  });

  it("reports the return reached while the record is held", () => {
    const f = fn(`@bb0:\n${reserve}  %3 = eq ptr %2, 0\n  condbr %3, @bb3, @bb1\n@bb1:\n  condbr %0, @bb2, @bb3\n@bb2:\n  call void helper ${SUBMIT} (%2, 0)\n  ret 1\n@bb3:\n  ret 0\n`);
    expect(summary(f)).toEqual(["leak %2 at %8"]); // the `ret 0` reached from @bb1 still holding it (not the null edge from @bb0)
  });

  it("reports a record never submitted (a possibly failed reservation still needs its null test)", () => {
    const f = fn(`@bb0:\n${reserve}  ret 0\n`);
    expect(summary(f)).toEqual(["leak %2 at %3"]);
  });

  it("reports a reservation inside a loop that is not released before the next one", () => {
    const f = fn(`@bb0:\n  br @bb1\n@bb1:\n${reserve}  %3 = eq ptr %2, 0\n  condbr %3, @bb3, @bb2\n@bb2:\n  br @bb1\n@bb3:\n  ret 0\n`);
    expect(summary(f)).toEqual(["leak %2 at %2 (again)"]);
  });

  it("reports uses of the record, and of pointers into it, after submission", () => {
    const f = fn(
      `@bb0:\n${reserve}  %3 = eq ptr %2, 0\n  condbr %3, @bb2, @bb1\n@bb1:\n  %4 = ptradd ptr %2, 8\n  call void helper ${SUBMIT} (%2, 0)\n  store i64 1, %4, 0\n  call void helper ${DISCARD} (%2, 0)\n  br @bb2\n@bb2:\n  ret 0\n`,
    );
    expect(summary(f)).toEqual(["use %7 after %6"]); // the first use on each path is reported
  });
});
