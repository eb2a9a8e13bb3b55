/**
 * docs/writing-a-pass.md against the source: it quotes the pass, its file test, an example
 * pass module and two tests verbatim (compared by text, the snippets found by their marker
 * lines), and every `$ luabpf ...` command in a `console` block is run with the real
 * command, its output (standard error, then standard output) compared with the page's; a
 * block whose output ends in `...` shows a prefix. The experiment in the `text` block is run
 * too and must print the same table shape and rows (its numbers vary).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { luabpf, ROOT } from "./helpers.js";

const DOC = readFileSync(join(ROOT, "docs/writing-a-pass.md"), "utf8");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** The lines strictly between `// doc:begin NAME` and `// doc:end NAME`, dedented. */
function snippet(path: string, name: string): string {
  const lines = read(path).split("\n");
  const begin = lines.findIndex((l) => l.trim() === `// doc:begin ${name}`);
  const end = lines.findIndex((l) => l.trim() === `// doc:end ${name}`);
  expect(begin, `marker doc:begin ${name} in ${path}`).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(begin);
  const body = lines.slice(begin + 1, end);
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return body.map((l) => l.slice(indent)).join("\n");
}

/** The fenced blocks of a language. */
function blocks(lang: string): string[] {
  const out: string[] = [];
  const re = new RegExp("^```" + lang + "\\n([\\s\\S]*?)^```$", "gm");
  for (let m = re.exec(DOC); m; m = re.exec(DOC)) out.push(m[1]!);
  return out;
}

describe("docs/writing-a-pass.md", () => {
  test.each([
    ["the pass", "packages/passes/src/passes/licm.ts"],
    ["its file test", "packages/passes/test/files/licm.ir"],
    ["the pass module loaded from outside", "examples/passes/merge-returns.js"],
  ])("quotes %s verbatim (%s)", (_, path) => {
    expect(DOC).toContain("\n" + read(path).trim() + "\n```");
  });

  test.each(["licm-property", "licm-run"])("quotes the test '%s' verbatim", (name) => {
    expect(DOC).toContain("```ts\n" + snippet("packages/passes/test/loops.test.ts", name) + "\n```");
  });

  const commands = blocks("console").flatMap((block) => {
    const out: { command: string; expected: string[] }[] = [];
    for (const line of block.replace(/\n$/, "").split("\n")) {
      if (line.startsWith("$ ")) out.push({ command: line.slice(2), expected: [] });
      else out.at(-1)!.expected.push(line);
    }
    return out;
  });
  test("has commands to run", () => expect(commands.length).toBeGreaterThanOrEqual(5));
  test.each(commands)("$command", ({ command, expected }) => {
    const [tool, ...args] = command.split(/ +/);
    expect(tool).toBe("luabpf");
    const r = luabpf(args);
    const actual = r.stderr + r.stdout;
    if (expected.at(-1) === "...") expect(actual.startsWith(expected.slice(0, -1).join("\n") + "\n"), `${command}:\n${actual}`).toBe(true);
    else expect(actual).toBe(expected.join("\n") + "\n");
  });

  test("the experiment shown runs and prints the same table", () => {
    const block = blocks("text").find((b) => b.startsWith("$ luabpf experiment"))!;
    const [command, ...shown] = block.replace(/\n$/, "").split("\n");
    const r = luabpf([...command!.slice("$ luabpf ".length).split(/ +/), "--repeat", "1"]);
    expect(r.code).toBe(0);
    const shape = (lines: string[]) => lines.map((l) => (l.startsWith("| examples") || l.startsWith("| geomean") ? l.split(" | ")[0] : l));
    expect(shape(r.stdout.replace(/\n$/, "").split("\n"))).toEqual(shape(shown));
    // The slots, verifier counts and steps are deterministic: the page shows today's.
    const numbers = (lines: string[]) => lines.filter((l) => l.startsWith("| examples")).map((l) => l.split(" | ").filter((_, i) => i < 7 || i > 9));
    expect(numbers(r.stdout.split("\n"))).toEqual(numbers(shown));
  });
});
