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

interface SectionRule extends SectionProgramType {
  /** The section name, or the part before "/" of a section name. */
  prefix: string;
  /** Whether `prefix` alone is a valid section name. */
  bare: boolean;
  /** Whether `prefix/target` is a valid section name. */
  withTarget: boolean;
}

const RULES: readonly SectionRule[] = [
  { prefix: "socket", bare: true, withTarget: true, type: ProgramType.SOCKET_FILTER },
  { prefix: "xdp", bare: true, withTarget: true, type: ProgramType.XDP, expectedAttachType: AttachType.XDP },
  { prefix: "tc", bare: true, withTarget: true, type: ProgramType.SCHED_CLS },
  { prefix: "classifier", bare: true, withTarget: true, type: ProgramType.SCHED_CLS },
  { prefix: "action", bare: true, withTarget: true, type: ProgramType.SCHED_ACT },
  { prefix: "kprobe", bare: false, withTarget: true, type: ProgramType.KPROBE },
  { prefix: "kretprobe", bare: false, withTarget: true, type: ProgramType.KPROBE },
  { prefix: "uprobe", bare: false, withTarget: true, type: ProgramType.KPROBE },
  { prefix: "uretprobe", bare: false, withTarget: true, type: ProgramType.KPROBE },
  { prefix: "tracepoint", bare: false, withTarget: true, type: ProgramType.TRACEPOINT },
  { prefix: "tp", bare: false, withTarget: true, type: ProgramType.TRACEPOINT },
  { prefix: "raw_tracepoint", bare: false, withTarget: true, type: ProgramType.RAW_TRACEPOINT },
  { prefix: "raw_tp", bare: false, withTarget: true, type: ProgramType.RAW_TRACEPOINT },
  { prefix: "perf_event", bare: true, withTarget: false, type: ProgramType.PERF_EVENT },
  { prefix: "syscall", bare: true, withTarget: false, type: ProgramType.SYSCALL },
];

/** The section names or `name/…` patterns {@link programTypeForSection} understands, for messages. */
export const KNOWN_SECTIONS: readonly string[] = RULES.flatMap((rule) => [
  ...(rule.bare ? [rule.prefix] : []),
  ...(rule.withTarget ? [`${rule.prefix}/…`] : []),
]);

/** The program type of a program in `section`, or undefined when the name follows no known convention. */
export function programTypeForSection(section: string): SectionProgramType | undefined {
  const slash = section.indexOf("/");
  const prefix = slash < 0 ? section : section.slice(0, slash);
  const hasTarget = slash >= 0 && slash < section.length - 1;
  for (const rule of RULES) {
    if (rule.prefix !== prefix) continue;
    if (hasTarget ? !rule.withTarget : !rule.bare) continue;
    return rule.expectedAttachType === undefined
      ? { type: rule.type }
      : { type: rule.type, expectedAttachType: rule.expectedAttachType };
  }
  return undefined;
}
