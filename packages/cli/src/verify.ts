/**
 * Verifier rejections reported as compile errors at the Lua line that caused them
 * (`luabpf compile --verify`, `luabpf run`):
 *
 *   prog.lua:12:5: error: verifier: invalid access to map value, value_size=8 off=8 size=8
 *     counts[k] = v
 *       ^
 *   verifier log:
 *     ; local v = counts[k] @ prog.lua:11:3
 *     11: (79) r1 = *(u64 *)(r0 +8)
 *     ...
 *
 * The rejected instruction is the last one the log shows before its error message (or
 * the instruction a structural error names, "... insn 5 ..."); the object's line table
 * (`.BTF.ext` line info, {@link ObjectLine}) gives its Lua position. The log is
 * annotated the way the kernel annotates it when it has line info: a `; text @
 * file:line` line before the first instruction of each source line.
 */
import { CompileError, type SourceLocation } from "@luabpf/ir";
import type { BpfObject, ObjectLine, ObjectProgram } from "@luabpf/elf";
import { isLuabpfError } from "@luabpf/platform/errors";
import { KernelUnavailableError } from "./errors.js";

/** The verifier refused a program: a located diagnostic plus the annotated log. */
export class VerifierRejection extends CompileError {
  override name = "VerifierRejection";
  override readonly category = "verifier" as const;
  constructor(
    message: string,
    location: SourceLocation | undefined,
    /** The verifier's log with Lua lines interleaved. */
    readonly log: string,
    /** The rejected program. */
    readonly program: string,
    options?: { cause?: unknown },
  ) {
    super({ severity: "error", message: `verifier: ${message}`, ...(location ? { location } : {}) }, options);
  }
}

/** Instruction index of a log line such as `12: (79) r1 = *(u64 *)(r0 +8)`. */
const INSN_LINE = /^(\d+): \([0-9a-f]{2}\)/;
/** Log lines that are not the error message: register state, source annotations, statistics. */
const NOT_A_MESSAGE = /^(\d+: (R\d|frame|\(|;)|;|processed \d+ insns|from \d+ to \d+:|verification time|stack depth|mark_precise|last_idx|regs=|parent |\s*$|func#|Validating|Func#|old state:|new state:|R\d+(_[a-z]+)?=)/;

/** The source position of instruction slot `slot`: the last line record at or before it. */
export function lineOfSlot(lines: readonly ObjectLine[] | undefined, slot: number): ObjectLine | undefined {
  if (!lines) return undefined;
  let found: ObjectLine | undefined;
  for (const l of lines) {
    if (l.offset > slot * 8) break;
    if (l.line > 0) found = l;
    else found = undefined;
  }
  return found;
}

/** The log with `; text @ file:line` before the first instruction of each new source line. */
export function annotateLog(log: string, lines: readonly ObjectLine[] | undefined): string {
  const text = log.trimEnd();
  // The kernel annotates logs itself when the program was loaded with line info.
  if (!lines || lines.length === 0 || /^; .* @ \S+:\d+/m.test(text)) return text;
  const out: string[] = [];
  let current: ObjectLine | undefined;
  for (const row of text.split("\n")) {
    const m = INSN_LINE.exec(row);
    if (m) {
      const l = lineOfSlot(lines, Number(m[1]));
      // As the kernel prints it when the program was loaded with line info (verbose_linfo:
      // the text, the file's base name, the line).
      if (l && (l.file !== current?.file || l.line !== current.line)) out.push(`; ${l.text.trim()} @ ${l.file.replace(/^.*\//, "")}:${l.line}`);
      current = l;
    }
    out.push(row);
  }
  return out.join("\n");
}

/**
 * Finds the rejected instruction and the error message in a verifier log: the message is
 * the first line after the last instruction that is not register state or statistics.
 */
export function findRejection(log: string): { slot: number | undefined; message: string } {
  const rows = log.trimEnd().split("\n");
  let last = -1;
  rows.forEach((row, i) => {
    if (INSN_LINE.test(row)) last = i;
  });
  const after = rows.slice(last + 1);
  const message = after.find((r) => !NOT_A_MESSAGE.test(r)) ?? rows.filter((r) => !NOT_A_MESSAGE.test(r)).at(-1) ?? "program rejected";
  let slot = last >= 0 ? Number(INSN_LINE.exec(rows[last]!)![1]) : undefined;
  // Structural errors name their instruction ("unreachable insn 5", "jump out of range from insn 3 to 9").
  const named = /\binsn (\d+)/.exec(message);
  if (named) slot = Number(named[1]);
  return { slot, message: message.trim() };
}

/** The program a loader error names (`program NAME (section S)`), if it is one of `object`'s. */
function rejectedProgram(error: { context?: string | undefined; message: string }, object: BpfObject): ObjectProgram | undefined {
  const text = error.context ?? error.message;
  const name = /program (\S+) \(section/.exec(text)?.[1];
  return object.programs.find((p) => p.name === name);
}

/**
 * Turns the loader's VerifierError for `object` into a {@link VerifierRejection} located
 * at the Lua line; returns any other error unchanged.
 */
export function explainRejection(error: unknown, object: BpfObject): unknown {
  // The loader's rejection (category verifier, with the kernel's log); one already explained stays as it is.
  if (!isLuabpfError(error) || error.category !== "verifier" || error instanceof VerifierRejection) return error;
  const e = error as Error & { log?: string; context?: string };
  if (typeof e.log !== "string") return error;
  const program = rejectedProgram(e, object);
  const { slot, message } = findRejection(e.log);
  const line = program && slot !== undefined ? lineOfSlot(program.lines, slot) : undefined;
  const location = line ? { file: line.file, line: line.line, column: Math.max(1, line.column) } : undefined;
  const where = program ? ` (program ${program.name}, section ${program.section}${slot !== undefined ? `, instruction ${slot}` : ""})` : "";
  return new VerifierRejection(`${message}${location ? "" : where}`, location, annotateLog(e.log, program?.lines), program?.name ?? "?", { cause: error });
}

/**
 * `--verify`: loads `object` into the kernel (maps created, programs verified, nothing
 * attached or run) and closes it again. Throws {@link VerifierRejection} on a rejection.
 */
export async function verifyObject(object: BpfObject): Promise<void> {
  const { bpfAvailable, loadObject } = await import("./lazy/loader.js");
  const available = bpfAvailable();
  if (!available.ok) throw new KernelUnavailableError(`--verify: cannot use bpf(2) here: ${available.reason}`);
  try {
    loadObject(object).close();
  } catch (e) {
    throw explainRejection(e, object);
  }
}
