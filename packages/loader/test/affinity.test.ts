// The calling thread's CPU affinity (used to produce per-CPU events on a chosen CPU): onCpu pins
// the thread for the callback and restores what it was, even when the callback throws.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { onCpu, onlineCpus, threadAffinity } from "../src/index.js";

/** The CPU the calling thread runs on now (field 39 of /proc/thread-self/stat). */
function currentCpu(): number {
  const stat = readFileSync("/proc/thread-self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[36]);
}

describe.skipIf(process.platform !== "linux")("thread affinity", () => {
  it("onCpu runs the callback on that CPU and restores the affinity", () => {
    const before = threadAffinity();
    expect(before.length).toBeGreaterThan(0);
    for (const cpu of onlineCpus().filter((c) => before.includes(c))) {
      const seen = onCpu(cpu, () => ({ affinity: threadAffinity(), cpu: currentCpu() }));
      expect(seen).toEqual({ affinity: [cpu], cpu });
      expect(threadAffinity()).toEqual(before);
    }
  });

  it("restores the affinity when the callback throws, and refuses CPUs that cannot exist", () => {
    const before = threadAffinity();
    expect(() =>
      onCpu(before[0]!, () => {
        throw new Error("inside");
      }),
    ).toThrow("inside");
    expect(threadAffinity()).toEqual(before);
    expect(() => onCpu(-1, () => 0)).toThrow(RangeError);
    expect(threadAffinity()).toEqual(before);
  });
});
