// The in-memory form of an eBPF object file: what the writer consumes and the reader
// produces. Kept free of ELF details (section indices, symbol tables) so that the
// code generator and the loader only deal with programs, maps and relocations.

import type { CoreReloKindName } from "@luabpf/platform";
import type { BtfFuncProto, BtfType } from "./btf-types.js";

/** A reference from an instruction to a symbol, resolved by the loader (libbpf or ours). */
export interface ObjectRelocation {
  /**
   * Byte offset of the instruction within the program's `code`. For a program that
   * is alone in its section (always the case for writer output) this is also the
   * offset within the section, i.e. the ELF r_offset.
   */
  offset: number;
  /**
   * Name of the referenced symbol: a map name, or a section name (`.text` for calls, the
   * data section for `data`).
   */
  symbol: string;
  /**
   * `map` (default): an `R_BPF_64_64` on an `lddw` whose map address the loader fills in.
   * `call`: an `R_BPF_64_32` on a BPF-to-BPF `call` into `.text` (`symbol` is `.text`);
   * the call's `imm` is the callee's instruction index in `.text` minus 1, as clang writes it.
   * `data`: an `R_BPF_64_64` on an `lddw` of a global variable's address in data section
   * `symbol` (see {@link ObjectDataSection}); the address is `addend` plus the `lddw`'s own
   * immediate (clang puts the offset there for relocations against the section symbol).
   */
  type?: "map" | "call" | "data";
  /** `data` only: the referenced symbol's offset in its section (0 for the section symbol). */
  addend?: number;
}

/**
 * A global-data section of a clang object: `.rodata*` (constants, `const volatile` settings,
 * `bpf_printk` formats), `.data*` (initialised globals), `.bss*` (zero-initialised globals).
 * As libbpf does, the loader makes each a one-entry array map holding the section's bytes
 * and points the programs' `lddw`s at its value (`BPF_PSEUDO_MAP_VALUE`).
 */
export interface ObjectDataSection {
  /** The ELF section's name, e.g. `.rodata`, `.data`, `.bss`, `.rodata.str1.1`. */
  name: string;
  /** Initial contents: the section's bytes (zeros for `.bss`, which has none in the file). */
  bytes: Uint8Array;
  /** `.rodata*`: programs may only read it (`BPF_F_RDONLY_PROG`; frozen once filled). */
  readonly: boolean;
  /**
   * The section's BTF DATASEC with its size and each variable's offset filled in from the
   * symbol table (clang leaves them zero for the loader to fix, as libbpf does); absent
   * when the object has no BTF for the section (string literals).
   */
  type?: BtfType;
}

/**
 * Source position of the instructions starting at `offset` (until the next line's
 * offset): becomes a `.BTF.ext` line-info record, which `bpftool prog dump xlated`
 * prints between instructions and the verifier quotes in its log.
 */
export interface ObjectLine {
  /** Byte offset within the program's `code`; a multiple of 8, not the second half of an lddw. */
  offset: number;
  file: string;
  /** 1-based line number (< 2^22); 0 means unknown. */
  line: number;
  /** 1-based column (< 1024); 0 means unknown. */
  column: number;
  /** The source text of that line. */
  text: string;
}

/**
 * A CO-RE relocation (`.BTF.ext` core_relo record): the loader (libbpf, or ours) computes
 * `kind` for the access `access` into the local type `type` against the target kernel's
 * BTF, and rewrites the instruction at `offset` with the result: the immediate of an ALU
 * or `lddw` instruction, or the offset of a load or store.
 */
export interface ObjectCoreRelocation {
  /** Byte offset of the instruction within the program's `code`. */
  offset: number;
  kind: CoreReloKindName;
  /**
   * The local type (written into `.BTF`): for field kinds the struct or union the access
   * starts from; it need only hold the members accessed (libbpf matches members by name).
   */
  type: BtfType;
  /**
   * libbpf's access string: for field kinds `0` (the root object) followed by `:`-separated
   * member indices (into `members` of each aggregate on the path) and array indices, e.g.
   * `0:5:2`; `0` for type kinds; the enumerator's index for enum value kinds.
   */
  access: string;
}

/** One eBPF program: an entry point in a code section. */
export interface ObjectProgram {
  /** Function name (ELF symbol and BTF FUNC name); a C identifier. */
  name: string;
  /** libbpf section name, which selects the program type: `socket`, `xdp`, `kprobe/do_sys_open`, ... */
  section: string;
  /** Instructions: a multiple of 8 bytes (an `lddw` occupies two slots). */
  code: Uint8Array;
  /** Relocations: map references (`lddw`) and calls into `.text`. */
  relocations: ObjectRelocation[];
  /**
   * A function programs call rather than a program: it lives in `.text` (`section` must
   * be `.text`), with a local symbol and static BTF linkage; calls between such functions
   * are pc-relative and need no relocation.
   */
  subprogram?: boolean;
  /**
   * Line info, in increasing offset order. Optional: when absent (or not starting at
   * offset 0) the writer adds an all-empty record at offset 0 because the kernel
   * wants line info to start at the first instruction, and the reader leaves such
   * all-empty records out.
   */
  lines?: ObjectLine[];
  /**
   * The BTF prototype of the program's FUNC (and DWARF subprogram), e.g.
   * `int (struct __sk_buff *skb)`. Default: `int (void *ctx)`. The kernel checks the
   * context parameter against the program type's context struct by name.
   */
  proto?: BtfFuncProto;
  /** CO-RE relocations, in increasing offset order; absent when none. */
  coreRelocations?: ObjectCoreRelocation[];
  /**
   * Where the program attaches, beyond what its section name says: the interface of
   * `bpf.socket('eth0', fn)`, a uprobe's binary, a pid... Stored in section `.luabpf.attach`
   * (one JSON object per line: `{"program":"socket","interface":"eth0"}`), which libbpf and
   * bpftool ignore; `luabpf run` reads it (its command-line options override it).
   */
  attach?: ObjectAttach;
}

/** Attach data of a program (see {@link ObjectProgram.attach}); every field optional. */
export interface ObjectAttach {
  /** Network interface of socket, tc and XDP programs. */
  interface?: string;
  /** Kernel or user function (kprobes, uprobes), when the section does not name it. */
  symbol?: string;
  /** Binary or library of a uprobe, when the section does not name it. */
  path?: string;
  /** A return probe. */
  retprobe?: boolean;
  /** Only this process (uprobes). */
  pid?: number;
  /** Only this CPU. */
  cpu?: number;
}

/** A BTF-defined map in the `.maps` section. */
export interface ObjectMap {
  name: string;
  /** A `BPF_MAP_TYPE_*` value (`MapType` of @luabpf/platform). */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* map flags (`map_flags`); 0 if none. */
  flags: number;
  /** BTF type of the key; when absent the writer emits `key_size` instead. */
  key?: BtfType;
  /** BTF type of the value; when absent the writer emits `value_size` instead. */
  value?: BtfType;
  /**
   * The C type of the records a ring buffer or perf event array carries (what `luabpf run`
   * decodes them with): written as the type plus a decl tag `luabpf.record=<type>` on the
   * map's VAR ({@link RECORD_TAG_PREFIX}); not read back by readObject (the loader finds it
   * in the object's BTF).
   */
  record?: BtfType;
}

/** Prefix of the BTF decl tag on a map's VAR naming its record type (`luabpf.record=struct event`). */
export const RECORD_TAG_PREFIX = "luabpf.record=";

/** A relocatable eBPF object: what `clang -target bpf -c` produces and libbpf loads. */
export interface BpfObject {
  /** Contents of the `license` section, e.g. "GPL" (GPL-only helpers need a GPL-compatible one). */
  license: string;
  programs: ObjectProgram[];
  maps: ObjectMap[];
  /** Global-data sections (clang objects; luabpf does not emit them). */
  data?: ObjectDataSection[];
  /** What the DWARF compile units say about the compilation (when line records exist). */
  debug?: ObjectDebugInfo;
}

/** Compilation facts recorded in DWARF. */
export interface ObjectDebugInfo {
  /** DW_AT_producer, e.g. `luabpf 0.1.0`. */
  producer?: string;
  /** DW_AT_comp_dir: the directory relative source file names are relative to. */
  compDir?: string;
}
