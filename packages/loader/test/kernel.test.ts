// Tests of the kernel probe and of the skip-or-fail policy kernel test files rely on.
import { describe, expect, it } from "vitest";
import { REQUIRE_KERNEL_ENV, bpfAvailable, kernelOrSkip } from "../src/index.js";

const unavailable = () => ({ ok: false as const, reason: "EPERM (operation not permitted)" });
const available = () => ({ ok: true as const });

describe("kernelOrSkip", () => {
  it("is true when bpf(2) works, whatever the environment says", () => {
    expect(kernelOrSkip({ probe: available, env: {} })).toBe(true);
    expect(kernelOrSkip({ probe: available, env: { [REQUIRE_KERNEL_ENV]: "1" } })).toBe(true);
  });

  it("is false when bpf(2) does not work and the kernel is not required", () => {
    expect(kernelOrSkip({ probe: unavailable, env: {} })).toBe(false);
    expect(kernelOrSkip({ probe: unavailable, env: { [REQUIRE_KERNEL_ENV]: "0" } })).toBe(false);
  });

  it("throws with the reason when LUABPF_REQUIRE_KERNEL=1 and bpf(2) does not work", () => {
    const run = () => kernelOrSkip({ probe: unavailable, env: { [REQUIRE_KERNEL_ENV]: "1" } });
    expect(run).toThrow(/LUABPF_REQUIRE_KERNEL=1 requires working bpf\(2\)/);
    expect(run).toThrow(/EPERM \(operation not permitted\)/);
  });
});

describe("bpfAvailable", () => {
  it("answers consistently with kernelOrSkip and caches its answer", () => {
    const first = bpfAvailable();
    expect(bpfAvailable()).toBe(first);
    expect(kernelOrSkip({ env: {} })).toBe(first.ok);
    if (!first.ok) expect(first.reason.length).toBeGreaterThan(0);
  });

  it.runIf(process.env[REQUIRE_KERNEL_ENV] === "1")("works in CI, where the kernel is required", () => {
    expect(bpfAvailable()).toEqual({ ok: true });
  });
});
