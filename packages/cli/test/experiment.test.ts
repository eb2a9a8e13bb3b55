/**
 * `luabpf experiment` on the examples corpus, through the real command: the table it
 * prints is parsed and checked against what it claims — one row per program of every
 * example, the changes and geometric means recomputed from the rows, the verifier's counts
 * from the kernel, and licm measurably removing work from the loop of len-log2.lua.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bpfAvailable } from "@luabpf/loader";
import { describe, expect, test } from "vitest";
import { compileSource } from "../src/driver.js";
import { luabpf, ROOT } from "./helpers.js";

const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".lua")).sort().map((f) => `examples/${f}`);
const kernel = bpfAvailable().ok || process.env.LUABPF_REQUIRE_KERNEL === "1";

interface Row {
  name: string;
  cells: string[];
}

/** The table's rows: program name and the 12 measure cells. */
function parseTable(text: string): { rows: Row[]; geomean: string[]; header: string[] } {
  const lines = text.split("\n").filter((l) => l.startsWith("| "));
  const split = (l: string) => l.slice(2, -2).split(" | ").map((c) => c.trim());
  const [header, , ...body] = lines.map(split);
  const rows = body.filter((c) => c[0] !== "geomean B/A").map((c) => ({ name: c[0]!, cells: c.slice(1) }));
  const geomean = body.find((c) => c[0] === "geomean B/A")!.slice(1);
  return { rows, geomean, header: header! };
}

const pct = (a: number, b: number) => {
  const p = (b / a - 1) * 100;
  return `${p > 0 ? "+" : ""}${p.toFixed(1)}%`;
};

describe("luabpf experiment", () => {
  test("O2 against O2,licm on every example: the table, recomputed", () => {
    const r = luabpf(["experiment", "--passes=-O2", "--vs", "O2,licm", "--repeat", "1", ...(kernel ? [] : ["--no-kernel"]), ...EXAMPLES]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^A: O2\nB: O2,licm\n\n/);
    const { rows, geomean, header } = parseTable(r.stdout);
    expect(header).toEqual(["program", ...["slots", "verified insns", "compile ms", "interp steps"].flatMap((m) => [`${m} A`, `${m} B`, "Δ"])]);
    // One row per program of each example, in order.
    const expected = EXAMPLES.flatMap((f) =>
      compileSource(readFileSync(join(ROOT, f), "utf8"), { file: f })
        .object.programs.filter((p) => !p.subprogram)
        .map((p) => `${f}:${p.name}`),
    );
    expect(rows.map((row) => row.name)).toEqual(expected);
    expect(rows.length).toBeGreaterThanOrEqual(14);
    const ratios: number[][] = [[], [], [], []];
    for (const row of rows) {
      expect(row.cells).toHaveLength(12);
      for (let m = 0; m < 4; m++) {
        const [a, b, d] = row.cells.slice(3 * m, 3 * m + 3) as [string, string, string];
        if (m === 1 && !kernel) {
          expect([a, b]).toEqual(["n/a", "n/a"]);
          continue;
        }
        expect(a, `${row.name} measure ${m}`).toMatch(m === 2 ? /^\d+\.\d\d$/ : /^\d+$/);
        expect(b).toMatch(m === 2 ? /^\d+\.\d\d$/ : /^\d+$/);
        const [x, y] = [Number(a), Number(b)];
        expect(x).toBeGreaterThan(0);
        if (m !== 2) expect(d).toBe(pct(x, y)); // compile times are printed rounded
        ratios[m]!.push(y / x);
      }
    }
    // The geometric means, from the rows.
    for (const m of [0, 1, 3]) {
      if (m === 1 && !kernel) continue;
      const g = Math.exp(ratios[m]!.reduce((s, x) => s + Math.log(x), 0) / ratios[m]!.length);
      expect(geomean[3 * m + 2]).toBe(`${pct(1, g)} (×${g.toFixed(3)}, ${rows.length})`);
    }
    // licm hoists skb.len out of len-log2's loop: fewer instructions executed.
    const log2 = rows.find((row) => row.name === "examples/len-log2.lua:socket")!;
    expect(Number(log2.cells[10])).toBeLessThan(Number(log2.cells[9]));
    expect(r.stdout).not.toMatch(/^note: /m); // no trap, no rejection
  });

  test("O0 against O2: smaller code and less work on the corpus; --json gives the same numbers", () => {
    const files = EXAMPLES.slice(0, 5);
    const r = luabpf(["experiment", "--passes", "O0", "--vs", "O2", "--repeat", "1", "--no-kernel", "--json", ...files]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { baseline: string; candidate: string; rows: { file: string; program: string; a: { slots: number; steps: number; verified?: number }; b: { slots: number; steps: number } }[] };
    expect(json.baseline).toBe("O0");
    expect(json.rows.every((row) => row.a.verified === undefined)).toBe(true);
    expect(json.rows.every((row) => row.b.slots <= row.a.slots)).toBe(true);
    const table = parseTable(luabpf(["experiment", "--passes", "O0", "--vs", "O2", "--repeat", "1", "--no-kernel", ...files]).stdout);
    expect(table.rows.map((row) => [row.cells[0], row.cells[1], row.cells[9], row.cells[10]].map(Number))).toEqual(json.rows.map((row) => [row.a.slots, row.b.slots, row.a.steps, row.b.steps]));
    expect(table.geomean[2]).toMatch(/^-\d+\.\d%/); // O2 is smaller
  });

  test("bad pipelines are usage errors", () => {
    expect(luabpf(["experiment", "--passes", "O2", EXAMPLES[0]!]).stderr).toMatch(/needs both pipelines: --passes A --vs B/);
    const bad = luabpf(["experiment", "--passes", "O2", "--vs", "O2,lcim", EXAMPLES[0]!]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--vs: invalid pass pipeline 'O2,lcim'/);
  });
});
