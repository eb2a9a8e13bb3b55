// Each eBPF fact lives once: no source file outside this package writes a map type's,
// program type's or helper's kernel number next to its name, interprets a section name by
// its prefix, restates an opcode field's encoding, or asks a map kind's properties by
// spelling (`kind.startsWith("lru")`). The patterns are the shapes such restatements took
// before the tables existed; the test also checks that each pattern does find the table it
// guards, so a renamed table cannot leave a pattern that matches nothing anywhere.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, test } from "vitest";
import { AttachType, HELPERS, LinkType, MAP_TYPE_NAMES, PROGRAM_TYPES, SECTION_RULES } from "../src/index.js";

const PACKAGES = join(import.meta.dirname, "..", "..");
const ROOT = join(PACKAGES, "..");

/** Every TypeScript source file under `dir` (tests and build output excluded). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

const srcFiles = readdirSync(PACKAGES)
  .map((p) => join(PACKAGES, p, "src"))
  .filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory())
  .flatMap(sources);

const alternation = (names: Iterable<string>): string => [...names].sort((a, b) => b.length - a.length).join("|");
/**
 * Names of one enum that no other enum (nor a common word: BTF kinds, data structures) also
 * uses, so that `name: number` can only be a restatement of that enum.
 */
const GENERIC = new Set(["unspec", "array", "hash", "stack", "queue", "struct_ops", "tracing", "syscall", "ext", "lsm", "netfilter"]);
const only = (names: readonly string[], ...others: readonly (readonly string[])[]): string[] => {
  const elsewhere = new Set(others.flat());
  return names.filter((n) => !GENERIC.has(n) && !elsewhere.has(n));
};
const attachNames = Object.keys(AttachType);
const linkNames = Object.keys(LinkType);
const programTypeNames = Object.keys(PROGRAM_TYPES);
const mapNames = alternation(only(MAP_TYPE_NAMES, programTypeNames, attachNames, linkNames));
const programNames = alternation(only(programTypeNames, MAP_TYPE_NAMES, attachNames, linkNames));
const helperNames = alternation(HELPERS.filter((h) => h.name !== "unspec").map((h) => h.name));
const prefixes = alternation(new Set(SECTION_RULES.map((r) => r.prefix)));

/** A restated fact: its pattern and the one file allowed to hold it. */
const FACTS: readonly { what: string; pattern: RegExp; home: string }[] = [
  { what: "a map type's number", pattern: new RegExp(`\\b(?:BPF_MAP_TYPE_[A-Z_]+|(?:${mapNames}))\\s*[:=]\\s*(?:\\w+\\()?\\d+\\b`, "i"), home: "packages/platform/src/maps.ts" },
  { what: "a program type's number", pattern: new RegExp(`\\b(?:BPF_PROG_TYPE_[A-Z_]+|(?:${programNames}))\\s*[:=]\\s*\\{?\\s*(?:id\\s*:\\s*)?\\d+\\b`, "i"), home: "packages/platform/src/programs.ts" },
  {
    what: "a helper's id",
    pattern: new RegExp(
      `\\bBPF_FUNC_[a-z0-9_]+\\s*[:=]\\s*\\d+|id:\\s*\\d+,\\s*name:\\s*"(?:${helperNames})"|\\b(?:${helperNames})\\s*:\\s*\\d+\\b|\\bhelper:\\s*\\d+|\\[\\d+,[^\\]\\n]*\\],?\\s*\\/\\/\\s*(?:bpf_)?(?:${helperNames})\\b`,
    ),
    home: "packages/platform/src/helpers.ts",
  },
  { what: "a section rule", pattern: new RegExp(`(?:startsWith\\(\\s*"(?:${prefixes})[/"]|rule\\("(?:${prefixes})",)`), home: "packages/platform/src/programs.ts" },
  {
    what: "an opcode field's encoding",
    pattern: /\bLDX\s*[:=]\s*0x01\b|\b(?:CLASS|BPF)_(?:LDX?|STX?|ALU(?:64)?|JMP(?:32)?)\s*=\s*0x|\bOP_(?:CALL|JA|EXIT)\s*=\s*0x|\{\s*4:\s*0x00,\s*2:\s*0x08/,
    home: "packages/platform/src/isa.ts",
  },
  { what: "a map kind's property by spelling", pattern: /\b(?:kind|type|name)\.(?:startsWith|endsWith|includes)\(\s*"(?:lru|percpu|array|hash)/, home: "" },
];

describe("each eBPF fact lives once", () => {
  for (const { what, pattern, home } of FACTS) {
    test(`${what} is written only in ${home || "a table's methods"}`, () => {
      const holders = srcFiles.filter((f) => pattern.test(readFileSync(f, "utf8"))).map((f) => relative(ROOT, f));
      expect(holders).toEqual(home ? [home] : []);
    });
  }
});
