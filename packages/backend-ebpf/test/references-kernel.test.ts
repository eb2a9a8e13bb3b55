// The reference rule of @luabpf/ir (checkReferences) against the kernel's verifier: ring
// buffer programs the analysis accepts load, those it rejects are refused by the kernel
// for the same reason (an unreleased reference, or a use after release).
import { checkReferences, parseModule } from "@luabpf/ir";
import { BpfError, kernelOrSkip, loadObject, VerifierError } from "@luabpf/loader";
import { BPF_FUNC } from "@luabpf/platform";
import { describe, expect, it } from "vitest";
import { compileModule, packageObject } from "../src/index.js";

const R = BPF_FUNC.ringbuf_reserve;
const S = BPF_FUNC.ringbuf_submit;
const D = BPF_FUNC.ringbuf_discard;
const RAND = BPF_FUNC.get_prandom_u32;

/** A raw tracepoint program; `%9` is a random number (so the verifier explores both sides of tests on it). */
function moduleOf(body: string) {
  return parseModule(
    `map @rb : ringbuf, key i32, value i32, max_entries 4096, flags 0\n\n` +
      `func @prog(ptr.ctx %0) -> i64 section "raw_tp/sys_enter" type raw_tracepoint {\n@bb0:\n  %9 = call i64 helper ${RAND} ()\n` +
      `  %1 = mapref @rb\n  %2 = call ptr helper ${R} (%1, 16, 0)\n${body}}\n`,
  );
}

const CASES: [string, string, "ok" | "leak" | "use"][] = [
  ["null test and submit", `  %3 = eq ptr %2, 0\n  condbr %3, @bb2, @bb1\n@bb1:\n  store i64 7, %2, 0\n  call void helper ${S} (%2, 0)\n  br @bb2\n@bb2:\n  ret 0\n`, "ok"],
  ["submit or discard", `  %3 = ne ptr %2, 0\n  condbr %3, @bb1, @bb4\n@bb1:\n  condbr %9, @bb2, @bb3\n@bb2:\n  call void helper ${S} (%2, 0)\n  br @bb4\n@bb3:\n  call void helper ${D} (%2, 0)\n  br @bb4\n@bb4:\n  ret 0\n`, "ok"],
  ["one branch forgets", `  %3 = eq ptr %2, 0\n  condbr %3, @bb3, @bb1\n@bb1:\n  condbr %9, @bb2, @bb3\n@bb2:\n  call void helper ${S} (%2, 0)\n  ret 1\n@bb3:\n  ret 0\n`, "leak"],
  ["never submitted", `  ret 0\n`, "leak"],
  ["store after submit", `  %3 = eq ptr %2, 0\n  condbr %3, @bb2, @bb1\n@bb1:\n  call void helper ${S} (%2, 0)\n  store i64 1, %2, 0\n  br @bb2\n@bb2:\n  ret 0\n`, "use"],
];

describe("checkReferences", () => {
  it.each(CASES)("%s: %s", (_name, body, expected) => {
    const { leaks, usesAfterRelease } = checkReferences(moduleOf(body).functions[0]!);
    expect(leaks.length > 0 ? "leak" : usesAfterRelease.length > 0 ? "use" : "ok").toBe(expected);
  });
});

describe.skipIf(!kernelOrSkip())("agrees with the verifier", () => {
  it.each(CASES)("%s", (_name, body, expected) => {
    const m = moduleOf(body);
    const object = packageObject(m, compileModule(m));
    let outcome = "ok";
    let log = "";
    try {
      loadObject(object).close();
    } catch (error) {
      if (!(error instanceof BpfError)) throw error;
      outcome = "refused";
      log = error instanceof VerifierError ? error.log : error.message;
    }
    if (expected === "ok") expect(outcome).toBe("ok");
    else {
      expect(outcome).toBe("refused");
      expect(log).toMatch(expected === "leak" ? /Unreleased reference/ : /invalid mem access 'scalar'|R\d+ invalid mem access/);
    }
  });
});
