/**
 * Regression tests: one program per distinct finding of the fuzzer, the differential
 * tester and issue 17's reports, run on the kernel at -O0 and -O2. Each case names its
 * finding; the expected values are Lua 5.4's (see `cases.ts`; the oracle test checks them).
 */
import { kernelOrSkip } from "@luabpf/loader";
import { describe, expect, test } from "vitest";
import { runOnKernel } from "../src/kernel.js";
import { REGRESSIONS, regressionInputs } from "./cases.js";

const kernel = kernelOrSkip();

describe.skipIf(!kernel).each([0, 2] as const)("regressions on the kernel at -O%i", (optLevel) => {
  test.each(REGRESSIONS.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const outcome = runOnKernel(c.source, { optLevel, inputs: regressionInputs(c) });
    expect(outcome.kind === "ok" ? "ok" : `${outcome.kind}: ${outcome.message}`).toBe("ok");
    if (outcome.kind !== "ok") return;
    expect(outcome.observation.returns).toEqual(c.returns);
    expect(outcome.observation.maps).toEqual(c.maps ?? {});
  });
});
