// Loading a whole BPF object into the kernel: create its maps (and, as libbpf does, a
// one-entry array map per global-data section of a clang object, filled with the section's
// bytes, `.rodata` frozen), bind each map relocation by rewriting the `lddw` it points at
// into a map-fd load (a map-value load for global data), infer each program's type from its
// section name, and load the programs. The result holds the file descriptors and offers
// handles to run programs and to read and write maps.
//
// The input is the `BpfObject` of @luabpf/elf (what its reader produces and the compiler
// packages); program types come from @luabpf/platform's section rules.
//
// Maps with BTF key/value types are created with a BTF object describing them (object-btf.ts);
// when the kernel refuses that BTF, the map is created without it, as libbpf does. Tracing
// programs (fentry/fexit/tp_btf) are loaded with the vmlinux BTF id of their target.
//
// Failure is atomic: if any map or program fails, every descriptor created so far is closed
// before the error propagates, wrapped with the name of the map or program.
import { readFileSync } from "node:fs";
import { readObject, readObjectBtf, type BpfObject, type BtfIndex, type BtfType, type ObjectAttach, type ObjectDataSection, type ObjectMap, type ObjectProgram } from "@luabpf/elf";
import { AttachType, KNOWN_SECTIONS, LDDW_OPCODE, MapFlag, MapType, PROGRAM_TYPES, PseudoSrc, mapTypeById, sectionRule } from "@luabpf/platform";
import { plainIntType } from "./btf-value.js";
import { applyCoreRelocations, loadBtfFile, runningKernelBtf } from "./core.js";
import { BpfError, LoaderError, VerifierError } from "./errors.js";
import { linkCalls } from "./link.js";
import { vmlinuxTypeId } from "./kernel-btf.js";
import { buildMapBtf, recordTypeOf } from "./object-btf.js";
import { btfLoad, mapFreeze, mapLookupBatch, objPin } from "./syscall-objects.js";
import {
  close,
  mapCreate,
  mapDelete,
  mapLookup,
  mapNextKey,
  mapUpdate,
  progLoad,
  progTestRun,
  type TestRunResult,
} from "./syscall.js";

/** Options of {@link loadObject}. */
export interface LoadObjectOptions {
  /** Verifier log level for every program (see ProgLoadOptions.logLevel). */
  logLevel?: number;
  /** Receives each accepted program's verifier log (see ProgLoadOptions.onLog). */
  onVerifierLog?: (program: string, log: string) => void;
  /**
   * Program types by program name, overriding inference from the section name; for sections
   * that follow no libbpf convention.
   */
  programTypes?: Readonly<Record<string, { type: number; expectedAttachType?: number }>>;
  /**
   * The BTF that CO-RE relocations are applied against (core.ts): a file (raw BTF or an ELF
   * with `.BTF`) or an index. Default: the running kernel's, read only when a program has
   * CO-RE relocations.
   */
  targetBtf?: string | BtfIndex;
  /**
   * The object's whole BTF type list (readObjectBtf's `types`), where the record types of
   * ring buffers and perf event arrays are found (see object-btf.ts for the convention).
   * loadObjectFile passes it.
   */
  btfTypes?: readonly BtfType[];
  /** `prog_flags` of every program (`ProgFlag` bits of @luabpf/platform, e.g. strict alignment checks). */
  progFlags?: number;
}

/** Options of {@link ProgramHandle.testRun}. */
export interface ProgramRunOptions {
  /** How many times to run; default 1. */
  repeat?: number;
  /** Context passed in (e.g. a `struct __sk_buff`). */
  ctxIn?: Uint8Array;
  /** Ask for the context back (default true with `ctxIn`); raw tracepoints need `false`, empty data and `repeat: 0`. */
  ctxOut?: boolean;
}

/** A loaded program. */
export interface ProgramHandle {
  readonly name: string;
  readonly section: string;
  /** The `BPF_PROG_TYPE_*` value it was loaded as (`programTypeById` of @luabpf/platform). */
  readonly type: number;
  /** The `BPF_*` attach type it was loaded with, if any. */
  readonly expectedAttachType: number | undefined;
  /** Attach data the object recorded for it (`.luabpf.attach`), if any. */
  readonly attach: ObjectAttach | undefined;
  readonly fd: number;
  /**
   * The instructions given to the kernel: CO-RE relocated, maps bound to their
   * descriptors, the `.text` functions it calls appended and linked (as libbpf loads them).
   */
  readonly instructions: Uint8Array;
  /** Runs the program in the kernel on `packet` (BPF_PROG_TEST_RUN). */
  testRun(packet: Uint8Array, options?: ProgramRunOptions): TestRunResult;
}

interface MapHandleBase {
  readonly name: string;
  readonly fd: number;
  /** The `BPF_MAP_TYPE_*` value it was created as. */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** `BPF_F_*` creation flags (`MapFlag` of @luabpf/platform). */
  readonly flags: number;
  /** Removes `key`; false when it was absent. Array maps cannot delete (throws EINVAL). */
  delete(key: Uint8Array): boolean;
  /** Every key, in the kernel's iteration order (BPF_MAP_GET_NEXT_KEY). */
  keys(): IterableIterator<Uint8Array>;
  /** BTF type of keys, when the object declared one. */
  readonly keyType: BtfType | undefined;
  /** BTF type of values, when the object declared one. */
  readonly valueType: BtfType | undefined;
  /** Ring buffers and perf event arrays: the C type of their records, when declared. */
  readonly recordType: BtfType | undefined;
  /** Pins the map at `path` in a bpffs mount (BPF_OBJ_PIN). */
  pin(path: string): void;
}

/** A map holding one value per key. */
export interface PlainMapHandle extends MapHandleBase {
  readonly perCpu: false;
  /** The value under `key`, or undefined. */
  get(key: Uint8Array): Uint8Array | undefined;
  /** Stores `value` (exactly `valueSize` bytes); `flags` is an `UpdateFlag` value (@luabpf/platform). */
  set(key: Uint8Array, value: Uint8Array, flags?: number): void;
  /** Every key with its value. */
  entries(): IterableIterator<[Uint8Array, Uint8Array]>;
  /**
   * Every key with its value in batches of `batchSize` (BPF_MAP_LOOKUP_BATCH): one system call
   * per batch instead of two per element. Throws BpfError for map types without batch support.
   */
  lookupBatch(batchSize?: number): Array<[Uint8Array, Uint8Array]>;
}

/**
 * A per-CPU map: each key holds one value per possible CPU. Values are read and written as
 * arrays indexed by CPU position in /sys/devices/system/cpu/possible.
 */
export interface PerCpuMapHandle extends MapHandleBase {
  readonly perCpu: true;
  /** Number of possible CPUs, the length of every value array. */
  readonly cpuCount: number;
  /** The per-CPU values under `key` (each `valueSize` bytes), or undefined. */
  get(key: Uint8Array): Uint8Array[] | undefined;
  /** Stores one value per CPU, or the same value on every CPU when given one `valueSize`-byte array. */
  set(key: Uint8Array, value: Uint8Array | readonly Uint8Array[], flags?: number): void;
  /** Every key with its per-CPU values. */
  entries(): IterableIterator<[Uint8Array, Uint8Array[]]>;
  /** Every key with its per-CPU values, in batches (see PlainMapHandle.lookupBatch). */
  lookupBatch(batchSize?: number): Array<[Uint8Array, Uint8Array[]]>;
}

/** A created map; narrow on `perCpu`. */
export type MapHandle = PlainMapHandle | PerCpuMapHandle;

/** A loaded object. Call {@link LoadedObject.close} to release its kernel objects. */
export interface LoadedObject {
  readonly programs: ReadonlyMap<string, ProgramHandle>;
  readonly maps: ReadonlyMap<string, MapHandle>;
  /** Closes every program and map descriptor; idempotent. */
  close(): void;
}

/**
 * Creates the object's maps, binds its relocations, and loads its programs.
 *
 * @throws LoaderError for an object that is malformed before any kernel call can judge it
 *   (a relocation not at an `lddw`, an unknown map symbol, a section with no known type)
 * @throws VerifierError when the verifier rejects a program (message names the program)
 * @throws BpfError when the kernel refuses a map or program for another reason
 */
export function loadObject(object: BpfObject, options: LoadObjectOptions = {}): LoadedObject {
  const fds: number[] = [];
  const maps = new Map<string, MapHandle>();
  const programs = new Map<string, ProgramHandle>();
  let coreTarget: BtfIndex | undefined;
  try {
    const declaredMaps = [...object.maps, ...(object.data ?? []).map(dataMap)];
    const btf = mapBtf(declaredMaps, fds);
    for (const declared of declaredMaps) {
      const map = withKernelDefaults(declared);
      if (maps.has(map.name)) throw new LoaderError(`map ${map.name}: defined twice`);
      const ids = btf?.ids.get(map.name);
      const create = (typed: boolean) =>
        mapCreate({
          type: map.type,
          keySize: map.keySize,
          valueSize: map.valueSize,
          maxEntries: map.maxEntries,
          flags: map.flags,
          name: map.name,
          ...(typed && btf && ids ? { btf: { fd: btf.fd, keyTypeId: ids.key, valueTypeId: ids.value } } : {}),
        });
      const fd = withContext(`map ${map.name}`, () => {
        if (!ids) return create(false);
        try {
          return create(true);
        } catch (error) {
          // A kernel that refuses the types (an older kernel, a type it cannot check) still
          // gets the map; only typed dumps by other tools are lost.
          if (error instanceof BpfError) return create(false);
          throw error;
        }
      });
      fds.push(fd);
      const record = options.btfTypes ? recordTypeOf(options.btfTypes, map.name) : undefined;
      maps.set(map.name, makeMapHandle(map, fd, record));
    }
    for (const section of object.data ?? []) fillDataMap(section, maps.get(section.name)!);
    // Functions programs call (`.text`) are not programs: they are linked into their callers.
    // Their CO-RE relocations are applied too, each at its own instruction of .text.
    const coreRelocated = (program: ObjectProgram): ObjectProgram => {
      if (!program.coreRelocations || program.coreRelocations.length === 0) return program;
      coreTarget ??= typeof options.targetBtf === "string" ? loadBtfFile(options.targetBtf) : (options.targetBtf ?? runningKernelBtf());
      return { ...program, code: applyCoreRelocations(program, coreTarget).code };
    };
    const subprograms = object.programs
      .filter((p) => p.subprogram)
      .map((p) => ({ program: p, code: bindMapRelocations(coreRelocated(p), maps, `function ${p.name} (.text)`) }));
    for (const program of object.programs) {
      if (program.subprogram) continue;
      const where = `program ${program.name} (section ${program.section})`;
      if (programs.has(program.name)) throw new LoaderError(`${where}: defined twice`);
      const rule = sectionRule(program.section);
      const override = options.programTypes?.[program.name];
      const kind =
        override ??
        (rule && {
          type: PROGRAM_TYPES[rule.type].id,
          ...(rule.expectedAttachType ? { expectedAttachType: AttachType[rule.expectedAttachType] } : {}),
        });
      if (!kind) {
        throw new LoaderError(
          `${where}: cannot infer the program type from the section name; known: ${KNOWN_SECTIONS.join(", ")}`,
        );
      }
      let attachBtfId: number | undefined;
      if (rule?.kernelBtf && !override) {
        const target = program.section.slice(program.section.indexOf("/") + 1);
        attachBtfId = vmlinuxTypeId(rule.kernelBtf.kind, rule.kernelBtf.namePrefix + target);
        if (attachBtfId === undefined) {
          throw new LoaderError(`${where}: the kernel has no ${rule.kernelBtf.kind === "func" ? "function" : "tracepoint"} ${target} in its BTF`);
        }
      }
      const insns = linkCalls(program, bindMapRelocations(coreRelocated(program), maps, where), subprograms, where);
      const fd = withContext(where, () =>
        progLoad({
          type: kind.type,
          insns,
          license: object.license,
          name: program.name,
          ...(kind.expectedAttachType === undefined ? {} : { expectedAttachType: kind.expectedAttachType }),
          ...(attachBtfId === undefined ? {} : { attachBtfId }),
          ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
          ...(options.progFlags === undefined ? {} : { progFlags: options.progFlags }),
          ...(options.onVerifierLog ? { onLog: (log: string) => options.onVerifierLog!(program.name, log) } : {}),
        }),
      );
      fds.push(fd);
      programs.set(program.name, {
        name: program.name,
        section: program.section,
        type: kind.type,
        expectedAttachType: kind.expectedAttachType,
        attach: program.attach,
        fd,
        instructions: insns,
        testRun: (packet, runOptions = {}) =>
          progTestRun(fd, {
            data: packet,
            repeat: runOptions.repeat ?? 1,
            ...(runOptions.ctxIn ? { ctxIn: runOptions.ctxIn } : {}),
            ...(runOptions.ctxOut === false ? { ctxOut: false } : {}),
          }),
      });
    }
  } catch (error) {
    closeAll(fds);
    throw error;
  }
  let closed = false;
  return {
    programs,
    maps,
    close() {
      if (closed) return;
      closed = true;
      closeAll(fds);
    },
  };
}

/**
 * Reads an eBPF ELF object file with @luabpf/elf's `readObject` and loads it
 * (see {@link loadObject}); errors are prefixed with the path.
 *
 * @throws LoaderError when the file is not a readable BPF object (the ELF error is the cause)
 */
export function loadObjectFile(path: string, options: LoadObjectOptions = {}): LoadedObject {
  const bytes = readFileSync(path);
  let object: BpfObject;
  let btfTypes: readonly BtfType[] | undefined;
  try {
    const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    object = readObject(data);
    btfTypes = readObjectBtf(data)?.types;
  } catch (error) {
    const reason = error instanceof Error ? `: ${error.message}` : "";
    throw new LoaderError(`${path}: not a readable BPF object${reason}`, { cause: error });
  }
  return withContext(path, () => loadObject(object, { ...(btfTypes ? { btfTypes } : {}), ...options }));
}

/**
 * The one-entry array map that holds a data section, as libbpf makes it: a u32 key, the
 * section's bytes as the value (typed by its DATASEC, so bpftool shows the variables),
 * `BPF_F_RDONLY_PROG` for `.rodata*`. Named after the section (libbpf prefixes the object's
 * name: `prog.rodata`); the kernel keeps 15 bytes of a name.
 */
function dataMap(section: ObjectDataSection): ObjectMap {
  return {
    name: section.name,
    type: MapType.array,
    keySize: 4,
    valueSize: section.bytes.byteLength,
    maxEntries: 1,
    flags: section.readonly ? MapFlag.rdonlyProg : 0,
    ...(section.type ? { key: plainIntType(4), value: section.type } : {}),
  };
}

/** Writes a data section's initial bytes into its map; `.rodata*` is then frozen. */
function fillDataMap(section: ObjectDataSection, map: MapHandle): void {
  withContext(`data section ${section.name}`, () => {
    mapUpdate(map.fd, new Uint8Array(4), section.bytes);
    if (section.readonly) mapFreeze(map.fd, `map ${section.name}`);
  });
}

/**
 * A copy of the program's code in which every relocated `lddw` loads its map: a map
 * relocation sets src_reg (high nibble of byte 1) = BPF_PSEUDO_MAP_FD and imm (bytes 4–7,
 * little-endian) = the map's fd, the second slot's imm (the upper 32 bits) zero; a data
 * relocation sets BPF_PSEUDO_MAP_VALUE, the data section's map fd, and in the second slot
 * the variable's offset in the section (the symbol's offset plus the `lddw`'s own imm), as
 * libbpf does.
 */
export function bindMapRelocations(
  program: ObjectProgram,
  maps: ReadonlyMap<string, { fd: number }>,
  where = `program ${program.name}`,
): Uint8Array {
  const code = new Uint8Array(program.code);
  const view = new DataView(code.buffer);
  for (const [index, relocation] of program.relocations.entries()) {
    if (relocation.type === "call") continue; // linked by link.ts
    const fail = (why: string): never => {
      throw new LoaderError(`${where}: relocation ${index} (offset ${relocation.offset}, symbol ${relocation.symbol}): ${why}`);
    };
    const { offset } = relocation;
    if (!Number.isInteger(offset) || offset % 8 !== 0) fail("offset is not at an instruction boundary");
    if (offset < 0 || offset + 16 > code.length) fail(`an lddw there would lie outside the ${code.length}-byte code`);
    if (code[offset] !== LDDW_OPCODE) fail(`instruction opcode is 0x${code[offset]!.toString(16)}, not lddw (0x18)`);
    if (relocation.type === "data") {
      const map = maps.get(relocation.symbol) ?? fail(`no data section ${relocation.symbol} in the object`);
      const at = view.getInt32(offset + 4, true) + (relocation.addend ?? 0);
      code[offset + 1] = (code[offset + 1]! & 0x0f) | (PseudoSrc.MAP_VALUE << 4);
      view.setInt32(offset + 4, map.fd, true);
      view.setInt32(offset + 12, at, true);
      continue;
    }
    const map = maps.get(relocation.symbol) ?? fail(`no map named ${relocation.symbol} in the object`);
    code[offset + 1] = (code[offset + 1]! & 0x0f) | (PseudoSrc.MAP_FD << 4);
    view.setInt32(offset + 4, map.fd, true);
    view.setInt32(offset + 12, 0, true);
  }
  return code;
}

// ---------------------------------------------------------------------------------------------
// Map handles

let possibleCpuCount: number | undefined;

/**
 * Number of possible CPUs: the kernel lays per-CPU values out once per possible CPU
 * (for_each_possible_cpu), so the count of CPUs listed in /sys/devices/system/cpu/possible
 * (e.g. "0-3" or "0-3,8-11"), not the online count, sizes every per-CPU value buffer.
 */
export function possibleCpus(): number {
  if (possibleCpuCount !== undefined) return possibleCpuCount;
  const text = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
  possibleCpuCount = parseCpuList(text);
  return possibleCpuCount;
}

/** Counts the CPUs of a kernel CPU list such as "0-3,8-11" or "0". */
export function parseCpuList(text: string): number {
  let count = 0;
  for (const range of text.split(",")) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(range.trim());
    if (!match) throw new LoaderError(`cannot parse CPU list "${text}"`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    count += last - first + 1;
  }
  return count;
}

/** Bytes a per-CPU value occupies per CPU in lookup/update buffers: the value size rounded up to 8. */
export function perCpuStride(valueSize: number): number {
  return Math.ceil(valueSize / 8) * 8;
}

/**
 * What libbpf fills in for a perf event array that leaves them out: 4-byte keys and values
 * (a CPU index and a perf event descriptor) and one entry per possible CPU.
 */
function withKernelDefaults(map: ObjectMap): ObjectMap {
  if (map.type !== MapType.perf_event_array) return map;
  return { ...map, keySize: map.keySize || 4, valueSize: map.valueSize || 4, maxEntries: map.maxEntries || possibleCpus() };
}

/**
 * Loads the BTF of the maps that have key and value types (see object-btf.ts); its descriptor
 * joins `fds`. Undefined when no map is typed or the kernel refuses the BTF (maps are then
 * created without types).
 */
function mapBtf(maps: readonly ObjectMap[], fds: number[]): { fd: number; ids: Map<string, { key: number; value: number }> } | undefined {
  const built = buildMapBtf(maps);
  if (!built) return undefined;
  try {
    const fd = btfLoad(built.bytes, "map key/value types");
    fds.push(fd);
    return { fd, ids: built.ids };
  } catch (error) {
    if (error instanceof BpfError) return undefined;
    throw error;
  }
}

/**
 * A handle for map descriptor `fd` described by `map` (sizes, type and optional BTF types);
 * the caller keeps ownership of the descriptor. Used for created maps and for pinned maps
 * opened again (pinned.ts).
 */
export function makeMapHandle(map: ObjectMap, fd: number, recordType: BtfType | undefined): MapHandle {
  const checkKey = (key: Uint8Array): void => {
    if (key.byteLength !== map.keySize) {
      throw new RangeError(`map ${map.name}: key must be ${map.keySize} bytes, got ${key.byteLength}`);
    }
  };
  const checkValue = (value: Uint8Array): void => {
    if (value.byteLength !== map.valueSize) {
      throw new RangeError(`map ${map.name}: value must be ${map.valueSize} bytes, got ${value.byteLength}`);
    }
  };
  const base = {
    name: map.name,
    fd,
    type: map.type,
    keySize: map.keySize,
    valueSize: map.valueSize,
    maxEntries: map.maxEntries,
    flags: map.flags,
    keyType: map.key,
    valueType: map.value,
    recordType,
    pin(path: string): void {
      objPin(fd, path);
    },
    delete(key: Uint8Array): boolean {
      checkKey(key);
      return mapDelete(fd, key);
    },
    *keys(): IterableIterator<Uint8Array> {
      let key = mapNextKey(fd, undefined, map.keySize);
      while (key) {
        yield key;
        key = mapNextKey(fd, key, map.keySize);
      }
    },
  };
  if (!mapTypeById(map.type)?.hasPerCpuValue()) {
    const handle: PlainMapHandle = {
      ...base,
      perCpu: false,
      get(key) {
        checkKey(key);
        return mapLookup(fd, key, map.valueSize);
      },
      set(key, value, flags = 0) {
        checkKey(key);
        checkValue(value);
        mapUpdate(fd, key, value, flags);
      },
      *entries() {
        for (const key of base.keys()) {
          const value = mapLookup(fd, key, map.valueSize);
          if (value) yield [key, value];
        }
      },
      lookupBatch(batchSize) {
        return mapLookupBatch(fd, map.keySize, map.valueSize, batchSize);
      },
    };
    return handle;
  }
  const cpuCount = possibleCpus();
  const stride = perCpuStride(map.valueSize);
  const split = (block: Uint8Array): Uint8Array[] =>
    Array.from({ length: cpuCount }, (_, cpu) => block.slice(cpu * stride, cpu * stride + map.valueSize));
  const handle: PerCpuMapHandle = {
    ...base,
    perCpu: true,
    cpuCount,
    get(key) {
      checkKey(key);
      const block = mapLookup(fd, key, stride * cpuCount);
      return block && split(block);
    },
    set(key, value, flags = 0) {
      checkKey(key);
      const values = value instanceof Uint8Array ? Array.from({ length: cpuCount }, () => value) : value;
      if (values.length !== cpuCount) {
        throw new RangeError(`map ${map.name}: expected ${cpuCount} per-CPU values, got ${values.length}`);
      }
      const block = new Uint8Array(stride * cpuCount);
      values.forEach((v, cpu) => {
        checkValue(v);
        block.set(v, cpu * stride);
      });
      mapUpdate(fd, key, block, flags);
    },
    *entries() {
      for (const key of base.keys()) {
        const block = mapLookup(fd, key, stride * cpuCount);
        if (block) yield [key, split(block)];
      }
    },
    lookupBatch(batchSize) {
      return mapLookupBatch(fd, map.keySize, stride * cpuCount, batchSize).map(([key, block]) => [key, split(block)]);
    },
  };
  return handle;
}

// ---------------------------------------------------------------------------------------------

/**
 * Runs `f`; a BpfError, VerifierError or LoaderError it throws is rethrown as the same class
 * with `context` prefixed (the original kept as the cause). An inner context that `context`
 * already begins with ("program p" inside "program p (section socket)") is not repeated.
 */
function withContext<T>(context: string, f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof BpfError) {
      const inner = error.context;
      const combined = inner && !context.startsWith(inner) ? `${context}: ${inner}` : context;
      if (error instanceof VerifierError) {
        throw new VerifierError(error.commandNumber, error.errno, error.log, combined, { cause: error });
      }
      throw new BpfError(error.commandNumber, error.errno, combined, { cause: error });
    }
    if (error instanceof LoaderError && !error.message.startsWith(context)) {
      throw new LoaderError(`${context}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

function closeAll(fds: number[]): void {
  for (const fd of fds.splice(0).reverse()) {
    try {
      close(fd);
    } catch {
      // Closing is best effort: a descriptor that cannot be closed is already gone.
    }
  }
}
