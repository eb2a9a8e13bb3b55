/**
 * A small FileCheck: `check:` (a later line contains the text), `nextln:` (the line right
 * after the previous match contains it), `not:` (no line between the previous match and
 * the next positive match contains it). Returns the first failure, or undefined.
 */
export interface Directive {
  kind: "check" | "nextln" | "not";
  text: string;
  /** 1-based line of the directive in the test file. */
  line: number;
}

export function fileCheck(output: string, directives: readonly Directive[]): string | undefined {
  const lines = output.split("\n");
  let pos = -1; // index of the last matched line
  let pendingNots: Directive[] = [];
  const checkNots = (from: number, to: number): string | undefined => {
    for (const d of pendingNots) {
      for (let i = from; i < to; i++) {
        if (lines[i]!.includes(d.text)) return `line ${d.line}: 'not: ${d.text}' matched output line ${i + 1}: ${lines[i]}`;
      }
    }
    pendingNots = [];
    return undefined;
  };
  for (const d of directives) {
    if (d.kind === "not") {
      pendingNots.push(d);
      continue;
    }
    let found = -1;
    if (d.kind === "nextln") {
      if (lines[pos + 1]?.includes(d.text)) found = pos + 1;
      else return `line ${d.line}: 'nextln: ${d.text}' does not match output line ${pos + 2}: ${lines[pos + 1] ?? "<end of output>"}`;
    } else {
      for (let i = pos + 1; i < lines.length; i++) if (lines[i]!.includes(d.text)) (found = i), (i = lines.length);
      if (found < 0) return `line ${d.line}: 'check: ${d.text}' not found after output line ${pos + 1}`;
    }
    const e = checkNots(pos + 1, found);
    if (e) return e;
    pos = found;
  }
  return checkNots(pos + 1, lines.length);
}
