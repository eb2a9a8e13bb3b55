// Program type inference from ELF section names, following the conventions libbpf established
// (its table of section definitions): a section is either exactly a known name ("xdp",
// "socket") or a known name followed by "/" and an attach target ("kprobe/do_nanosleep").
// The table is data; adding a program type is adding a row.
import { AttachType, ProgramType } from "./constants.js";

/** What the kernel needs to know at load time about a program found in a section. */
export interface SectionProgramType {
  /** A {@link ProgramType} value. */
  type: number;
  /** An {@link AttachType} value, when the program type needs one at load time. */
  expectedAttachType?: number;
}

/**
 * The kind of hook a section's program attaches to (attach.ts turns it and the section's
 * target part into an AttachTarget); `none` for program types that are only run or called.
 */
export type SectionHook =
  | "socket"
  | "xdp"
  | "tc-ingress"
  | "tc-egress"
  | "tracepoint"
  | "raw_tracepoint"
  | "kprobe"
  | "kretprobe"
  | "uprobe"
  | "uretprobe"
  | "tracing"
  | "none";

/** One row of the section table. */
export interface SectionRule extends SectionProgramType {
  /** The section name, or the part before "/" of a section name. */
  prefix: string;
  /** Whether `prefix` alone is a valid section name. */
  bare: boolean;
  /** Whether `prefix/target` is a valid section name. */
  withTarget: boolean;
  /** Where the program attaches. */
  hook: SectionHook;
  /**
   * Tracing programs are verified against a kernel function's BTF: the target part of the
   * section names it, and `prefix` + target is the BTF name looked up in vmlinux (`func` kind
   * for fentry/fexit, the `btf_trace_<name>` typedef for tp_btf).
   */
  kernelBtf?: { kind: "func" | "typedef"; namePrefix: string };
}

const RULES: readonly SectionRule[] = [
  { prefix: "socket", bare: true, withTarget: true, type: ProgramType.SOCKET_FILTER, hook: "socket" },
  { prefix: "xdp", bare: true, withTarget: true, type: ProgramType.XDP, expectedAttachType: AttachType.XDP, hook: "xdp" },
  { prefix: "tc", bare: true, withTarget: true, type: ProgramType.SCHED_CLS, hook: "tc-ingress" },
  { prefix: "tcx", bare: false, withTarget: true, type: ProgramType.SCHED_CLS, hook: "tc-ingress" },
  { prefix: "classifier", bare: true, withTarget: true, type: ProgramType.SCHED_CLS, hook: "tc-ingress" },
  { prefix: "action", bare: true, withTarget: true, type: ProgramType.SCHED_ACT, hook: "none" },
  { prefix: "kprobe", bare: false, withTarget: true, type: ProgramType.KPROBE, hook: "kprobe" },
  { prefix: "kretprobe", bare: false, withTarget: true, type: ProgramType.KPROBE, hook: "kretprobe" },
  { prefix: "uprobe", bare: true, withTarget: true, type: ProgramType.KPROBE, hook: "uprobe" },
  { prefix: "uretprobe", bare: true, withTarget: true, type: ProgramType.KPROBE, hook: "uretprobe" },
  { prefix: "tracepoint", bare: false, withTarget: true, type: ProgramType.TRACEPOINT, hook: "tracepoint" },
  { prefix: "tp", bare: false, withTarget: true, type: ProgramType.TRACEPOINT, hook: "tracepoint" },
  { prefix: "raw_tracepoint", bare: false, withTarget: true, type: ProgramType.RAW_TRACEPOINT, hook: "raw_tracepoint" },
  { prefix: "raw_tp", bare: false, withTarget: true, type: ProgramType.RAW_TRACEPOINT, hook: "raw_tracepoint" },
  {
    prefix: "fentry",
    bare: false,
    withTarget: true,
    type: ProgramType.TRACING,
    expectedAttachType: AttachType.TRACE_FENTRY,
    hook: "tracing",
    kernelBtf: { kind: "func", namePrefix: "" },
  },
  {
    prefix: "fexit",
    bare: false,
    withTarget: true,
    type: ProgramType.TRACING,
    expectedAttachType: AttachType.TRACE_FEXIT,
    hook: "tracing",
    kernelBtf: { kind: "func", namePrefix: "" },
  },
  {
    prefix: "tp_btf",
    bare: false,
    withTarget: true,
    type: ProgramType.TRACING,
    expectedAttachType: AttachType.TRACE_RAW_TP,
    hook: "tracing",
    kernelBtf: { kind: "typedef", namePrefix: "btf_trace_" },
  },
  { prefix: "perf_event", bare: true, withTarget: false, type: ProgramType.PERF_EVENT, hook: "none" },
  { prefix: "syscall", bare: true, withTarget: false, type: ProgramType.SYSCALL, hook: "none" },
];

/** The section names or `name/…` patterns {@link programTypeForSection} understands, for messages. */
export const KNOWN_SECTIONS: readonly string[] = RULES.flatMap((rule) => [
  ...(rule.bare ? [rule.prefix] : []),
  ...(rule.withTarget ? [`${rule.prefix}/…`] : []),
]);

/** The program type of a program in `section`, or undefined when the name follows no known convention. */
export function programTypeForSection(section: string): SectionProgramType | undefined {
  const rule = sectionRule(section)?.rule;
  if (!rule) return undefined;
  return rule.expectedAttachType === undefined
    ? { type: rule.type }
    : { type: rule.type, expectedAttachType: rule.expectedAttachType };
}

/**
 * The table row `section` matches and its target part (after the first "/"; "" for a bare
 * name), or undefined when the name follows no known convention.
 */
export function sectionRule(section: string): { rule: SectionRule; target: string } | undefined {
  const slash = section.indexOf("/");
  const prefix = slash < 0 ? section : section.slice(0, slash);
  const hasTarget = slash >= 0 && slash < section.length - 1;
  for (const rule of RULES) {
    if (rule.prefix !== prefix) continue;
    if (hasTarget ? !rule.withTarget : !rule.bare) continue;
    return { rule, target: hasTarget ? section.slice(slash + 1) : "" };
  }
  return undefined;
}
