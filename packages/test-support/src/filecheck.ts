/**
 * FileCheck, at LLVM FileCheck's level, for file tests: directives in `;` comments of a
 * test file are matched, in order, against a tool's output.
 *
 *   ; P: text          a later position in the output (the same line as the previous match or after)
 *   ; P-NEXT: text     on the line right after the previous match
 *   ; P-SAME: text     on the line of the previous match, after it
 *   ; P-EMPTY:         the line right after the previous match is empty
 *   ; P-NOT: text      not between the previous match and the next one (or the end)
 *   ; P-DAG: text      consecutive DAG lines match in any order, without overlapping
 *   ; P-LABEL: text    matched first, in order, to cut the output into blocks; the other
 *                      directives after a label match inside its block only
 *
 * `P` is the check prefix (`check` by default; suffixes in either case: `check-next`,
 * `CHECK-NEXT`). In a pattern, `{{regex}}` is a regular expression, `[[V:regex]]` matches
 * `regex` and binds it to the variable `V`, and `[[V]]` matches the text bound earlier; the
 * rest is literal, with runs of spaces matching any run of horizontal whitespace. A match
 * never spans lines. For prefix `check`, the older `nextln:` and `not:` mean `check-next:`
 * and `check-not:`.
 *
 * Unlike LLVM, a `-NOT` directive whose region (between the matches around it) holds no
 * text is an error: it could never fail, and a check that cannot fail is a defect.
 */

/** The kinds of directive. */
export type DirectiveKind = "check" | "next" | "same" | "empty" | "not" | "dag" | "label";

/** One directive of a test file. */
export interface Directive {
  kind: DirectiveKind;
  /** The pattern text (trimmed). */
  pattern: string;
  /** 1-based line in the test file. */
  line: number;
  prefix: string;
}

const SUFFIX: Record<string, DirectiveKind> = { next: "next", same: "same", empty: "empty", not: "not", dag: "dag", label: "label" };
const ESCAPE = /[.*+?^${}()|[\]\\/]/g;

/** The directive of one test-file line for one of `prefixes`, if it is one. */
export function parseDirectiveLine(raw: string, line: number, prefixes: readonly string[]): Directive | undefined {
  for (const prefix of [...prefixes].sort((a, b) => b.length - a.length)) {
    const m = new RegExp(`^\\s*;\\s*${prefix.replace(ESCAPE, "\\$&")}(?:-([A-Za-z]+))?:(.*)$`).exec(raw);
    if (!m) continue;
    const suffix = m[1]?.toLowerCase();
    if (suffix !== undefined && !(suffix in SUFFIX)) continue;
    return { kind: suffix === undefined ? "check" : SUFFIX[suffix]!, pattern: m[2]!.trim(), line, prefix };
  }
  if (prefixes.includes("check")) {
    const legacy = /^\s*;\s*(nextln|not):(.*)$/.exec(raw);
    if (legacy) return { kind: legacy[1] === "nextln" ? "next" : "not", pattern: legacy[2]!.trim(), line, prefix: "check" };
  }
  return undefined;
}

/** Every directive of `prefixes` in a test file, in file order. */
export function parseDirectives(text: string, prefixes: readonly string[]): Directive[] {
  const out: Directive[] = [];
  text.split("\n").forEach((raw, i) => {
    const d = parseDirectiveLine(raw, i + 1, prefixes);
    if (d) out.push(d);
  });
  return out;
}

/** A pattern compiled to a regular expression, with the variables it binds. */
interface Compiled {
  re: RegExp;
  /** Group name → variable name. */
  binds: Map<string, string>;
}

function directiveName(d: Directive): string {
  return `${d.prefix}${d.kind === "check" ? "" : `-${d.kind}`}`;
}

class CheckError extends Error {}

/**
 * The index of the `]]` closing a variable reference that starts at `from`: the first one
 * outside the regex's own brackets, so `[[R:r[0-9]]]` works. -1 when there is none.
 */
function closingBrackets(p: string, from: number): number {
  let depth = 0;
  for (let k = from; k < p.length; k++) {
    const ch = p[k];
    if (ch === "\\") k++;
    else if (ch === "[") depth++;
    else if (ch === "]") {
      if (depth === 0) return p[k + 1] === "]" ? k : -1;
      depth--;
    }
  }
  return -1;
}

/** Compiles a pattern with the current variable bindings. */
function compile(d: Directive, vars: ReadonlyMap<string, string>): Compiled {
  let src = "";
  const binds = new Map<string, string>();
  const local = new Map<string, string>(); // variable → group name, for uses after a definition in this pattern
  const p = d.pattern;
  let i = 0;
  let group = 0;
  const literal = (text: string) => {
    src += text.replace(ESCAPE, "\\$&").replace(/[ \t]+/g, "[ \\t]+");
  };
  while (i < p.length) {
    if (p.startsWith("{{", i)) {
      const end = p.indexOf("}}", i + 2);
      if (end < 0) throw new CheckError(`${d.line}: error: '{{' without '}}' in ${directiveName(d)}: ${p}`);
      src += `(?:${p.slice(i + 2, end)})`;
      i = end + 2;
      continue;
    }
    if (p.startsWith("[[", i)) {
      const end = closingBrackets(p, i + 2);
      if (end < 0) throw new CheckError(`${d.line}: error: '[[' without ']]' in ${directiveName(d)}: ${p}`);
      const body = p.slice(i + 2, end);
      const def = /^([A-Za-z_][A-Za-z0-9_]*):(.*)$/s.exec(body);
      if (def) {
        if (d.kind === "not") throw new CheckError(`${d.line}: error: a ${directiveName(d)} pattern cannot define variable ${def[1]}`);
        if (d.kind === "label") throw new CheckError(`${d.line}: error: a ${directiveName(d)} pattern cannot define variable ${def[1]} (labels match before everything else)`);
        const name = `v${group++}`;
        binds.set(name, def[1]!);
        local.set(def[1]!, name);
        src += `(?<${name}>${def[2]})`;
      } else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(body)) {
        const g = local.get(body);
        if (g) src += `\\k<${g}>`;
        else {
          const v = vars.get(body);
          if (v === undefined) throw new CheckError(`${d.line}: error: ${directiveName(d)} uses variable ${body}, which no earlier match defined`);
          src += v.replace(ESCAPE, "\\$&");
        }
      } else throw new CheckError(`${d.line}: error: bad variable '[[${body}]]' in ${directiveName(d)} (use [[NAME]] or [[NAME:regex]])`);
      i = end + 2;
      continue;
    }
    const next = [p.indexOf("{{", i), p.indexOf("[[", i)].filter((k) => k >= 0);
    const stop = next.length ? Math.min(...next) : p.length;
    literal(p.slice(i, stop));
    i = stop;
  }
  try {
    return { re: new RegExp(src, "g"), binds };
  } catch (e) {
    throw new CheckError(`${d.line}: error: bad regular expression in ${directiveName(d)}: ${(e as Error).message}`);
  }
}

/** A position in the output: line index and column. */
interface Pos {
  line: number;
  col: number;
}
interface Match {
  start: Pos;
  end: Pos;
  groups: Record<string, string> | undefined;
}

const before = (a: Pos, b: Pos) => a.line < b.line || (a.line === b.line && a.col < b.col);
const max = (a: Pos, b: Pos) => (before(a, b) ? b : a);

/** The first match of `c` at or after `from` and before `to`, within one line. */
function search(lines: readonly string[], c: Compiled, from: Pos, to: Pos): Match | undefined {
  for (let l = from.line; l < lines.length && l <= to.line; l++) {
    const startCol = l === from.line ? from.col : 0;
    const endCol = l === to.line ? to.col : lines[l]!.length;
    if (startCol > endCol) continue;
    const text = lines[l]!.slice(0, endCol);
    c.re.lastIndex = startCol;
    const m = c.re.exec(text);
    if (m) return { start: { line: l, col: m.index }, end: { line: l, col: m.index + m[0].length }, groups: m.groups };
  }
  return undefined;
}

function regionText(lines: readonly string[], from: Pos, to: Pos): string {
  if (!before(from, to)) return "";
  if (from.line === to.line) return lines[from.line]!.slice(from.col, to.col);
  const parts = [lines[from.line]!.slice(from.col)];
  for (let l = from.line + 1; l < to.line; l++) parts.push(lines[l]!);
  if (to.line < lines.length) parts.push(lines[to.line]!.slice(0, to.col));
  return parts.join("\n");
}

/** Options of {@link fileCheck}. */
export interface FileCheckOptions {
  /** The test file's name, for messages. */
  file?: string;
  /** What the output is, for messages (`output of 'opt --passes sccp'`). */
  what?: string;
}

/**
 * Matches `directives` (all of one prefix) against `output`. Returns undefined when every
 * directive holds, otherwise a message: where in the test file, which directive, and the
 * output lines around where it was looked for.
 */
export function fileCheck(output: string, directives: readonly Directive[], options: FileCheckOptions = {}): string | undefined {
  const lines = output.replace(/\n$/, "").split("\n");
  const file = options.file ?? "<test>";
  const endPos: Pos = { line: lines.length - 1, col: lines[lines.length - 1]!.length };
  const vars = new Map<string, string>();
  const show = (at: number): string => {
    const from = Math.max(0, at - 2);
    const to = Math.min(lines.length, at + 3);
    const out: string[] = [];
    for (let l = from; l < to; l++) out.push(`${l === at ? ">" : " "} ${String(l + 1).padStart(4)} | ${lines[l]}`);
    return out.join("\n");
  };
  const fail = (d: Directive, why: string, at: number): string =>
    `${file}:${d.line}: error: ${directiveName(d)}: ${why}\n; ${directiveName(d)}: ${d.pattern}\n${options.what ?? "output"}${at >= 0 ? ` (line ${at + 1})` : ""}:\n${show(Math.max(0, Math.min(at, lines.length - 1)))}${vars.size ? `\nvariables: ${[...vars].map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", ")}` : ""}`;
  const bind = (c: Compiled, m: Match) => {
    for (const [g, name] of c.binds) vars.set(name, m.groups?.[g] ?? "");
  };

  try {
    for (const d of directives) {
      if (d.pattern === "" && d.kind !== "empty") return `${file}:${d.line}: error: ${directiveName(d)} has an empty pattern`;
      if (d.kind === "empty" && d.pattern !== "") return `${file}:${d.line}: error: ${directiveName(d)} takes no pattern`;
    }
    // Labels first, in order, over the whole output.
    const labels: { index: number; match: Match }[] = [];
    let labelFrom: Pos = { line: 0, col: 0 };
    directives.forEach((d, index) => {
      if (d.kind !== "label") return;
      const m = search(lines, compile(d, new Map()), labelFrom, endPos);
      if (!m) throw new CheckError(fail(d, "label not found (labels are matched in order, before the other directives)", labelFrom.line), { cause: "formatted" });
      labels.push({ index, match: m });
      labelFrom = m.end;
    });
    // Blocks: directives before the first label, then after each label.
    const blocks: { ds: readonly Directive[]; from: Pos; to: Pos; previous: Match | undefined }[] = [];
    const firstLabel = labels[0]?.index ?? directives.length;
    blocks.push({ ds: directives.slice(0, firstLabel), from: { line: 0, col: 0 }, to: labels[0]?.match.start ?? endPos, previous: undefined });
    labels.forEach((l, k) => {
      const next = labels[k + 1];
      blocks.push({ ds: directives.slice(l.index + 1, next?.index ?? directives.length), from: l.match.end, to: next?.match.start ?? endPos, previous: l.match });
    });
    for (const block of blocks) {
      const err = checkBlock(block.ds, block.from, block.to, block.previous);
      if (err) return err;
    }
    return undefined;
  } catch (e) {
    if (e instanceof CheckError) return e.cause === "formatted" ? e.message : `${file}:${e.message}`;
    throw e;
  }

  function checkBlock(ds: readonly Directive[], from: Pos, to: Pos, previous: Match | undefined): string | undefined {
    let cur = from;
    let last = previous;
    let nots: Directive[] = [];
    const checkNots = (a: Pos, b: Pos): string | undefined => {
      for (const n of nots) {
        const text = regionText(lines, a, b);
        if (!/\S/.test(text)) return fail(n, "this check-not can never fail: the matches around it are adjacent, so there is no text between them to search (move it, or give it its own prefix with sparser checks)", a.line);
        const m = search(lines, compile(n, vars), a, b);
        if (m) return fail(n, "excluded text found", m.start.line);
      }
      nots = [];
      return undefined;
    };
    for (let i = 0; i < ds.length; i++) {
      const d = ds[i]!;
      if (d.kind === "not") {
        nots.push(d);
        continue;
      }
      if (d.kind === "dag") {
        // A group is a run of consecutive DAG lines; NOT lines end it and apply up to the
        // next positive match (possibly the next group), as in LLVM.
        const group: Directive[] = [];
        while (i < ds.length && ds[i]!.kind === "dag") group.push(ds[i++]!);
        i--;
        const found: Match[] = [];
        for (const g of group) {
          const c = compile(g, vars);
          let q = cur;
          let m: Match | undefined;
          for (;;) {
            m = search(lines, c, q, to);
            if (!m) break;
            const clash = found.find((f) => before(m!.start, f.end) && before(f.start, m!.end));
            if (!clash) break;
            q = clash.end;
          }
          if (!m) return fail(g, "text not found (in any order with the check-dag lines around it)", cur.line);
          bind(c, m);
          found.push(m);
        }
        const start = found.reduce((a, m) => (before(m.start, a) ? m.start : a), found[0]!.start);
        const e = checkNots(cur, start);
        if (e) return e;
        const furthest = found.reduce((a, m) => (before(a.end, m.end) ? m : a), found[0]!);
        cur = max(cur, furthest.end);
        last = furthest;
        continue;
      }
      const c = compile(d, vars);
      let m: Match | undefined;
      if (d.kind === "check") {
        m = search(lines, c, cur, to);
        if (!m) return fail(d, "text not found", cur.line);
      } else {
        if (!last) return fail(d, `there is no previous match for ${directiveName(d)} to follow`, 0);
        if (d.kind === "same") {
          m = search(lines, c, cur, { line: last.end.line, col: lines[last.end.line]!.length });
          if (!m) return fail(d, "text not found on the line of the previous match", last.end.line);
        } else {
          const want = last.end.line + 1;
          if (want >= lines.length || want > to.line) return fail(d, "no line after the previous match", last.end.line);
          if (d.kind === "empty") {
            if (lines[want] !== "") return fail(d, "the line after the previous match is not empty", want);
            m = { start: { line: want, col: 0 }, end: { line: want, col: 0 }, groups: undefined };
          } else {
            m = search(lines, c, cur, to);
            if (!m) return fail(d, "text not found", want);
            if (m.start.line === last.end.line) return fail(d, "text found on the same line as the previous match, not on the next", m.start.line);
            if (m.start.line !== want) return fail(d, `text not on the line after the previous match (first found on line ${m.start.line + 1})`, want);
          }
        }
      }
      const e = checkNots(cur, m.start);
      if (e) return e;
      bind(c, m);
      cur = m.end;
      last = m;
    }
    return checkNots(cur, to);
  }
}
