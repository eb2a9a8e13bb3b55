/**
 * Line diffs for `--print-changed`: the shortest edit script between two texts, by Myers'
 * greedy O((N+M)·D) algorithm ("An O(ND) Difference Algorithm and Its Variations", 1986),
 * printed as unified-diff hunks (`@@ -a,b +c,d @@`, context lines with a space, removed
 * lines with `-`, added lines with `+`), as `diff -u` shows them.
 *
 * IR dumps before and after one pass differ by a few lines, so D is small and the cost is
 * close to linear. The trace of every step's furthest-reaching paths is kept (O(D²) memory
 * at most) to recover the script.
 */

/** One line of an edit script. */
export interface DiffLine {
  readonly op: " " | "-" | "+";
  readonly text: string;
}

/** The shortest edit script turning `a` into `b` (lines), every line of both included. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) (x++, y++);
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  // Walk the trace backwards from (n, m).
  const out: DiffLine[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) out.push({ op: " ", text: a[--x]! }), y--;
    if (d === 0) break;
    if (x === prevX) out.push({ op: "+", text: b[--y]! });
    else out.push({ op: "-", text: a[--x]! });
  }
  while (x > 0 && y > 0) out.push({ op: " ", text: a[--x]! }), y--;
  return out.reverse();
}

/**
 * A unified diff of two texts with `context` lines around each change, or "" when they
 * are equal. `labels` name the two sides in the `---`/`+++` header.
 */
export function unifiedDiff(before: string, after: string, labels: readonly [string, string] = ["before", "after"], context = 3): string {
  const a = before.replace(/\n$/, "").split("\n");
  const b = after.replace(/\n$/, "").split("\n");
  const script = diffLines(a, b);
  if (script.every((l) => l.op === " ")) return "";
  // Positions (in the script) of changed lines, grouped into hunks.
  const changed = script.map((l, i) => (l.op === " " ? -1 : i)).filter((i) => i >= 0);
  const hunks: [number, number][] = [];
  for (const i of changed) {
    const start = Math.max(0, i - context);
    const end = Math.min(script.length, i + context + 1);
    const last = hunks[hunks.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else hunks.push([start, end]);
  }
  const lines = [`--- ${labels[0]}`, `+++ ${labels[1]}`];
  // Line numbers in a and b at each script position.
  const aLine = new Int32Array(script.length + 1);
  const bLine = new Int32Array(script.length + 1);
  for (let i = 0; i < script.length; i++) {
    aLine[i + 1] = aLine[i]! + (script[i]!.op !== "+" ? 1 : 0);
    bLine[i + 1] = bLine[i]! + (script[i]!.op !== "-" ? 1 : 0);
  }
  for (const [s, e] of hunks) {
    const aCount = aLine[e]! - aLine[s]!;
    const bCount = bLine[e]! - bLine[s]!;
    lines.push(`@@ -${aLine[s]! + (aCount > 0 ? 1 : 0)},${aCount} +${bLine[s]! + (bCount > 0 ? 1 : 0)},${bCount} @@`);
    for (let i = s; i < e; i++) lines.push(`${script[i]!.op}${script[i]!.text}`);
  }
  return lines.join("\n") + "\n";
}
