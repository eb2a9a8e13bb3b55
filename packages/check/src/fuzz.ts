/**
 * The fuzzer: feeds hostile input to the compiler and to the ELF reader in worker processes
 * (pool.ts) and classifies every run:
 *
 *   ok · located error · unlocated error · internal error · crash · hang · slow
 *
 * Only `ok` and `located` are acceptable; `slow` (finished, but over the slow threshold) is
 * reported for the compile-speed work. Inputs come from these *sources*, chosen per input:
 *
 * - `bytes`: random bytes, decoded as UTF-8 as the command line reads files;
 * - `text`: random text over Lua's characters and tokens;
 * - `tokens`: token-level mutations (delete, duplicate, swap, insert, replace) of the
 *   example programs, the regression programs and generated programs;
 * - `grammar`: programs of the random program generator (generate.ts: packet programs and raw
 *   tracepoints reading the current task), valid by
 *   construction, and mutations of them;
 * - `nesting`: deeply nested or very long constructs;
 * - `elf`: mutated objects (bit flips, bytes overwritten, truncations) for `readObject`.
 *
 * Each distinct finding (its outcome and message with numbers removed) is reported once with
 * its first input, to be kept as a regression test.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { compileSource } from "luabpf";
import { writeObject } from "@luabpf/elf";
import { defaultGenerator, type Generator as ProgramGenerator } from "./generate.js";
import { WorkerPool, type TaskOutcome } from "./pool.js";
import { Random } from "./random.js";

export const FUZZ_SOURCES = ["bytes", "text", "tokens", "grammar", "nesting", "elf"] as const;
export type FuzzSource = (typeof FUZZ_SOURCES)[number];

/**
 * Inputs per source in every 20 (the cheap, broad sources most; `nesting` inputs are large
 * and slow to compile, a few go a long way).
 */
export const SOURCE_SHARES: Readonly<Record<FuzzSource, number>> = { bytes: 4, text: 4, tokens: 5, grammar: 4, nesting: 1, elf: 2 };

/** The round-robin schedule of `sources`, each repeated by its share. */
function schedule(sources: readonly FuzzSource[]): FuzzSource[] {
  const out: FuzzSource[] = [];
  const max = Math.max(...sources.map((s) => SOURCE_SHARES[s]));
  for (let round = 0; round < max; round++) for (const s of sources) if (round < SOURCE_SHARES[s]) out.push(s);
  return out;
}

export type FuzzClass = "ok" | "located" | "unlocated" | "internal" | "crash" | "hang";

/** One fuzz input. */
export interface FuzzInput {
  readonly source: FuzzSource;
  /** Lua text (all sources but `elf`). */
  readonly text?: string;
  /** Object bytes (`elf`). */
  readonly bytes?: Uint8Array;
  readonly optLevel: 0 | 2;
}

/** A distinct finding: a class other than ok/located, or a slow input. */
export interface FuzzFinding {
  readonly class: FuzzClass | "slow";
  readonly signature: string;
  readonly message: string;
  readonly input: FuzzInput;
  readonly ms: number;
  /** The worker's CPU time on the input, when it answered. */
  readonly cpuMs?: number;
  count: number;
}

export interface FuzzReport {
  readonly inputs: number;
  readonly bySource: Record<FuzzSource, Record<FuzzClass, number>>;
  readonly findings: FuzzFinding[];
  /** Inputs that finished but took longer than the slow threshold. */
  readonly slow: FuzzFinding[];
  readonly seconds: number;
}

export interface FuzzOptions {
  readonly count: number;
  readonly seed?: number;
  readonly sources?: readonly FuzzSource[];
  readonly workers?: number;
  /** Hang timeout per input (default 120 s, see pool.ts). */
  readonly timeoutMs?: number;
  /** Finished inputs that took more CPU time than this are listed as slow (default 2 s; wall-clock time if the worker died). */
  readonly slowMs?: number;
  /** Smaller extremes (nesting and length at most 1,000), for quick runs in tests. */
  readonly quick?: boolean;
  /** Called every `progressEvery` inputs. */
  readonly onProgress?: (done: number, report: FuzzReport) => void;
  readonly progressEvery?: number;
}

const ROOT = new URL("../../../", import.meta.url);

/** The seed programs of token mutation: the examples and some generated programs. */
export function seedPrograms(generator: ProgramGenerator = defaultGenerator()): string[] {
  const dir = new URL("examples/", ROOT);
  const seeds: string[] = [];
  try {
    for (const f of readdirSync(dir).filter((x) => x.endsWith(".lua")).sort()) seeds.push(readFileSync(join(dir.pathname, f), "utf8"));
  } catch {
    // No examples directory (a packed install): generated programs only.
  }
  for (let k = 1; k <= 20; k++) seeds.push(generator.generate(10_000 + k).source);
  return seeds;
}

/** Lua's tokens, roughly: strings, comments, numbers, names, operators, white space. */
const TOKEN = /--\[(=*)\[[\s\S]*?\]\1\]|--[^\n]*|\[(=*)\[[\s\S]*?\]\2\]|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|0[xX][0-9a-fA-F.]+(?:[pP][+-]?\d+)?|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*|\.\.\.|\.\.|\/\/|<<|>>|==|~=|<=|>=|::|\s+|[\s\S]/g;

export function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** Tokens to insert: Lua's keywords and operators, the dialect's names, boundary numbers, and troublemakers. */
const VOCABULARY = [
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in", "local", "nil", "not", "or",
  "repeat", "return", "then", "true", "until", "while", "+", "-", "*", "/", "//", "%", "^", "#", "&", "~", "|", "<<", ">>",
  "==", "~=", "<=", ">=", "<", ">", "=", "(", ")", "{", "}", "[", "]", "::", ";", ":", ",", ".", "..", "...",
  "bpf", "bpf.map", "bpf.socket", "bpf.tc", "bpf.xdp", "bpf.kprobe", "skb", "skb.len", "skb.mark", "pkt", "pkt.ip", "pkt.ip.tcp",
  "xadd", "time()", "require", "'bpf'", "'hash'", "'array'", "'uint64_t'", "ffi", "math",
  "0", "1", "-1", "0x7fffffffffffffff", "0x8000000000000000", "9223372036854775807", "9223372036854775808", "1e9", "0.5",
  "4294967296", "2147483648", "'str'", "[[long]]", "--c\n", "\n", " ", "@", "$", "`", "\\", "é", "\u00a0", "\ufeff", "\u0000",
];

function mutateTokens(rng: Random, text: string): string {
  const tokens = tokenize(text);
  for (let n = rng.int(1, 4); n > 0; n--) {
    if (tokens.length === 0) tokens.push(rng.pick(VOCABULARY));
    const at = rng.below(tokens.length);
    switch (rng.below(5)) {
      case 0:
        tokens.splice(at, 1);
        break;
      case 1:
        tokens.splice(at, 0, tokens[at]!);
        break;
      case 2: {
        const other = rng.below(tokens.length);
        [tokens[at], tokens[other]] = [tokens[other]!, tokens[at]!];
        break;
      }
      case 3:
        tokens.splice(at, 0, " ", rng.pick(VOCABULARY), " ");
        break;
      default:
        tokens[at] = rng.pick(VOCABULARY);
    }
  }
  return tokens.join("");
}

const LUA_CHARS = "abcdefghijklmnopqrstuvwxyz_ABCXYZ0123456789 \t\n\r()[]{}=<>~+-*/%^#&|.,;:'\"\\";

function randomText(rng: Random): string {
  const n = rng.int(0, 300);
  let s = "";
  for (let k = 0; k < n; k++) s += rng.chance(0.2) ? rng.pick(VOCABULARY) + " " : LUA_CHARS[rng.below(LUA_CHARS.length)]!;
  return s;
}

function randomBytes(rng: Random): string {
  const bytes = new Uint8Array(rng.int(0, 400));
  for (let k = 0; k < bytes.length; k++) bytes[k] = rng.chance(0.5) ? rng.below(256) : LUA_CHARS.charCodeAt(rng.below(LUA_CHARS.length));
  return new TextDecoder("utf-8").decode(bytes);
}

/** Deep or long constructs, around and past the nesting limits (`quick`: at most 1,000). */
function nesting(rng: Random, quick: boolean): string {
  const n = rng.pick(quick || rng.chance(0.7) ? [50, 150, 199, 201, 250, 499, 501, 1000] : [2000, 3000, 10_000]);
  const body = (b: string): string => `bpf.socket(function (skb)\n${b}\nend)\n`;
  switch (rng.below(9)) {
    case 0:
      return body(`return ${"(".repeat(n)}skb.len${")".repeat(n)}`);
    case 1:
      return body(`return ${"-".repeat(1)}${" ~".repeat(n)} skb.len`);
    case 2:
      return body(`local x = 0 ${"if skb.mark > 1 then ".repeat(n)}x = 1 ${"end ".repeat(n)} return x`);
    case 3:
      return body(`local x = skb.len ${"+ 1 ".repeat(n)} return x`);
    case 4:
      return body(`if skb.mark ${"and skb.len ".repeat(n)} then return 1 end return 0`);
    case 5:
      return `local N = 1 ${"+ 1 ".repeat(n)}\n${body("return N")}`;
    case 6:
      return body(`${"while skb.mark > 1 do ".repeat(Math.min(n, 400))}${"end ".repeat(Math.min(n, 400))}return 0`);
    case 7:
      return body(`local x = 0\n${"x = x + skb.mark\n".repeat(n)}return x`);
    default:
      return body(`local x = 0\n${"if skb.mark > 1 then x = x + 1 end\n".repeat(n)}return x`);
  }
}

/** Objects of the example programs and some generated programs, as seeds of `elf` mutation. */
export function seedObjects(programs: readonly string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of programs) {
    try {
      out.push(writeObject(compileSource(p, { file: "seed.lua" }).object));
    } catch {
      // A seed that does not compile (kprobe on another machine, ...) is skipped.
    }
  }
  return out;
}

function mutateBytes(rng: Random, seed: Uint8Array): Uint8Array {
  let b = new Uint8Array(seed);
  for (let n = rng.int(1, 8); n > 0; n--) {
    switch (rng.below(5)) {
      case 0:
        b[rng.below(b.length)]! ^= 1 << rng.below(8);
        break;
      case 1:
        b[rng.below(b.length)] = rng.pick([0, 0xff, 0x7f, 0x80, rng.below(256)]);
        break;
      case 2: {
        // A 16/32/64-bit field set to an extreme.
        const at = rng.below(Math.max(1, b.length - 8));
        const v = rng.pick([0, 0xff, 0x7f]);
        for (let k = 0; k < rng.pick([2, 4, 8]); k++) b[at + k] = v;
        break;
      }
      case 3:
        b = b.subarray(0, rng.below(b.length + 1));
        break;
      default: {
        const extra = new Uint8Array(b.length + rng.int(1, 64));
        extra.set(b);
        b = extra;
      }
    }
    if (b.length === 0) break;
  }
  return b;
}

/** The `index`-th input of a run seeded with `seed`. */
export function makeInput(rng: Random, source: FuzzSource, seeds: { programs: string[]; objects: Uint8Array[] }, generator: ProgramGenerator, quick = false): FuzzInput {
  const optLevel = rng.chance(0.5) ? 0 : 2;
  switch (source) {
    case "bytes":
      return { source, text: randomBytes(rng), optLevel };
    case "text":
      return { source, text: randomText(rng), optLevel };
    case "tokens":
      return { source, text: mutateTokens(rng, rng.pick(seeds.programs)), optLevel };
    case "grammar": {
      const p = generator.generate(rng.u32(), { statements: rng.int(4, 40) }).source;
      return { source, text: rng.chance(0.5) ? p : mutateTokens(rng, p), optLevel };
    }
    case "nesting":
      return { source, text: nesting(rng, quick), optLevel };
    case "elf":
      return { source, bytes: mutateBytes(rng, rng.pick(seeds.objects)), optLevel };
  }
}

/** The outcome class of a finished task. */
function classOf(outcome: TaskOutcome): { class: FuzzClass; message: string } {
  if (outcome.kind === "crash") return { class: "crash", message: outcome.detail };
  if (outcome.kind === "hang") return { class: "hang", message: `no answer within the timeout` };
  const r = outcome.response;
  if (r.kind !== "classified") return { class: "internal", message: "unexpected worker response" };
  return { class: r.class, message: r.message };
}

/** A message without its variable parts: the signature of a finding. */
export function findingSignature(cls: string, message: string): string {
  const line = message.split("\n")[0] ?? "";
  return `${cls}: ${line.replace(/^[^:]*\.lua:\d+:\d+: /, "").replace(/'[^']*'/g, "'…'").replace(/\d+/g, "N").slice(0, 200)}`;
}

function emptyCounts(): Record<FuzzClass, number> {
  return { ok: 0, located: 0, unlocated: 0, internal: 0, crash: 0, hang: 0 };
}

/** Runs `count` inputs and returns what was found. */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const rng = new Random(options.seed ?? 1);
  const sources = options.sources ?? FUZZ_SOURCES;
  const slowMs = options.slowMs ?? 2000;
  const generator = defaultGenerator();
  const programs = seedPrograms(generator);
  const seeds = { programs, objects: sources.includes("elf") ? seedObjects(programs) : [] };
  const pool = new WorkerPool({ workers: options.workers ?? 2, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
  const bySource = Object.fromEntries(FUZZ_SOURCES.map((s) => [s, emptyCounts()])) as Record<FuzzSource, Record<FuzzClass, number>>;
  const findings = new Map<string, FuzzFinding>();
  const slow = new Map<string, FuzzFinding>();
  const started = performance.now();
  let done = 0;
  const report = (): FuzzReport => ({
    inputs: done,
    bySource,
    findings: [...findings.values()],
    slow: [...slow.values()].sort((a, b) => (b.cpuMs ?? b.ms) - (a.cpuMs ?? a.ms)),
    seconds: (performance.now() - started) / 1000,
  });
  try {
    // Inputs are made in order from one generator (reproducible), run two at a time.
    const order = schedule(sources);
    const inputs = function* (): Generator<FuzzInput> {
      for (let k = 0; k < options.count; k++) yield makeInput(rng, order[k % order.length]!, seeds, generator, options.quick ?? false);
    };
    const it = inputs();
    const lane = async (): Promise<void> => {
      for (let next = it.next(); !next.done; next = it.next()) {
        const input = next.value;
        const outcome = await pool.run(input.source === "elf" ? { kind: "elf", bytes: input.bytes! } : { kind: "compile", source: input.text!, optLevel: input.optLevel });
        const { class: cls, message } = classOf(outcome);
        bySource[input.source][cls]++;
        done++;
        if (cls !== "ok" && cls !== "located") {
          const sig = findingSignature(cls, message);
          const f = findings.get(sig);
          if (f) f.count++;
          else findings.set(sig, { class: cls, signature: sig, message, input, ms: outcome.ms, count: 1 });
        } else {
          // Slow by the compiler's own CPU time where the worker reports it: on a shared machine the
          // wall-clock time mostly measures the other processes.
          const cpuMs = outcome.kind === "done" ? outcome.response.cpuMs : undefined;
          if ((cpuMs ?? outcome.ms) > slowMs) {
            const message = cpuMs === undefined ? `${Math.round(outcome.ms)} ms` : `${Math.round(cpuMs)} ms CPU (${Math.round(outcome.ms)} ms wall)`;
            slow.set(`${done}`, { class: "slow", signature: `slow: ${input.source}`, message, input, ms: outcome.ms, cpuMs, count: 1 });
          }
        }
        if (options.onProgress && done % (options.progressEvery ?? 1000) === 0) options.onProgress(done, report());
      }
    };
    await Promise.all(Array.from({ length: options.workers ?? 2 }, lane));
  } finally {
    pool.close();
  }
  return report();
}
