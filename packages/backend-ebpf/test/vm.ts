/**
 * An eBPF machine-code interpreter for tests: runs encoded-level `Insn`s (as the
 * assembler resolves them: jump offsets in 8-byte slots, lddw in two slots) with the
 * kernel's semantics, so that compiled and register-allocated code can be compared with
 * the IR interpreter (`interpret` from @luabpf/ir).
 *
 * It decodes opcode bits directly (class, op, source, mode, size) rather than through the
 * ISA form table, so it is an independent oracle for the encoder too.
 *
 * - Registers r0..r10 hold u64 bigints; r10 points just past a 512-byte stack.
 * - Memory is a set of regions at fixed fake addresses: the stack (reads of bytes never
 *   written are errors, as the verifier would refuse them), the context, and map values
 *   (an address per value object, stable across lookups). Map handles loaded by
 *   `lddw rX, map` (a relocation) are addresses in a handle region.
 * - ALU/ALU64 (div/mod by zero: 0 and dst unchanged; sdiv/smod; movsx; shifts masked;
 *   32-bit results zero-extended), END (to-le, to-be, bswap), JMP/JMP32, LDX (also
 *   sign-extending), ST, STX, atomic add and fetch-add, LD_ABS/LD_IND (big-endian packet
 *   loads; out of bounds ends the program with 0), lddw.
 * - Helpers 1/2/3 (map lookup/update/delete) act on a `MapState` of @luabpf/ir, the same
 *   code the IR interpreter uses, so map semantics agree by construction; 5, 8 and 14
 *   return the interpreter's defaults. A helper call leaves r1..r5 poisoned, so code
 *   that relies on them surviving a call computes garbage.
 */
import { DEFAULT_PID_TGID, DEFAULT_TIME, MapState, type MapInstance, type MemoryObject, type Module } from "@luabpf/ir";
import type { AsmRelocation, Insn } from "../src/index.js";

export class VmError extends Error {
  override readonly name = "VmError";
}

export interface VmOptions {
  module?: Module;
  maps?: MapState;
  ctx?: Uint8Array;
  packet?: Uint8Array;
  maxSteps?: number;
  /** Initial r1 (default: the context's address). */
  r1?: bigint;
}

export interface VmResult {
  r0: bigint;
  steps: number;
  maps: MapState;
  /** Highest stack depth touched, in bytes. */
  stackDepth: number;
}

const U64 = (1n << 64n) - 1n;
const u64 = (x: bigint): bigint => x & U64;
const u32 = (x: bigint): bigint => x & 0xffffffffn;
const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const s32 = (x: bigint): bigint => BigInt.asIntN(32, x);
const POISON = 0xdeadbeefcafebaben;

const STACK_SIZE = 512;
const STACK_BASE = 0x1000_0000n;
const CTX_BASE = 0x2000_0000n;
const MAP_HANDLE_BASE = 0x3000_0000n;
const VALUE_BASE = 0x4000_0000n;
const VALUE_STRIDE = 0x1_0000n;

interface Region {
  base: bigint;
  bytes: Uint8Array;
  init?: Uint8Array;
  name: string;
}

const SIZE_BYTES: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };

/** Runs `insns` (with map relocations) and returns r0. */
export function runVm(insns: readonly Insn[], relocations: readonly AsmRelocation[], options: VmOptions = {}): VmResult {
  const maps = options.maps ?? (options.module ? MapState.fromModule(options.module) : new MapState());
  // Slot-indexed program.
  const slots: (Insn | undefined)[] = [];
  for (const i of insns) {
    slots.push(i);
    if (i.code === 0x18) slots.push(undefined);
  }
  const relocAt = new Map(relocations.map((r) => [r.slot, r.symbol]));
  const mapNames = maps.names();

  const stack: Region = { base: STACK_BASE, bytes: new Uint8Array(STACK_SIZE), init: new Uint8Array(STACK_SIZE), name: "stack" };
  const ctx: Region = { base: CTX_BASE, bytes: new Uint8Array(options.ctx ?? new Uint8Array(64)), name: "ctx" };
  const packet = options.packet ?? new Uint8Array(0);
  const valueRegions: Region[] = [];
  const valueAddr = new Map<MemoryObject, bigint>();
  let stackDepth = 0;

  const region = (addr: bigint, size: number): { r: Region; off: number } => {
    for (const r of [stack, ctx, ...valueRegions]) {
      if (addr >= r.base && addr + BigInt(size) <= r.base + BigInt(r.bytes.length)) return { r, off: Number(addr - r.base) };
    }
    throw new VmError(`access of ${size} bytes at 0x${addr.toString(16)} is outside every region`);
  };
  const load = (addr: bigint, size: number): bigint => {
    const { r, off } = region(addr, size);
    let x = 0n;
    for (let i = size - 1; i >= 0; i--) {
      if (r.init && !r.init[off + i]) throw new VmError(`read of uninitialised stack byte at r10-${STACK_SIZE - off - i}`);
      x = (x << 8n) | BigInt(r.bytes[off + i]!);
    }
    return x;
  };
  const store = (addr: bigint, size: number, v: bigint): void => {
    const { r, off } = region(addr, size);
    if (r === ctx) throw new VmError("store to the context");
    for (let i = 0; i < size; i++) {
      r.bytes[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
      if (r.init) r.init[off + i] = 1;
    }
    if (r === stack) stackDepth = Math.max(stackDepth, STACK_SIZE - off);
  };
  const readBytes = (addr: bigint, size: number): Uint8Array => {
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) out[i] = Number(load(addr + BigInt(i), 1));
    return out;
  };
  const mapOf = (handle: bigint): MapInstance => {
    const k = Number(handle - MAP_HANDLE_BASE) / 0x100;
    const name = mapNames[k];
    if (!Number.isInteger(k) || name === undefined) throw new VmError(`0x${handle.toString(16)} is not a map handle`);
    return maps.get(name);
  };
  const addressOf = (o: MemoryObject): bigint => {
    let a = valueAddr.get(o);
    if (a === undefined) {
      a = VALUE_BASE + BigInt(valueRegions.length) * VALUE_STRIDE;
      valueRegions.push({ base: a, bytes: o.bytes, name: o.name });
      valueAddr.set(o, a);
    }
    return a;
  };

  const reg: bigint[] = new Array(11).fill(0n);
  reg[1] = options.r1 ?? CTX_BASE;
  reg[10] = STACK_BASE + BigInt(STACK_SIZE);
  const maxSteps = options.maxSteps ?? 1_000_000;
  let pc = 0;
  let steps = 0;
  const finish = (r0: bigint): VmResult => ({ r0, steps, maps, stackDepth });

  for (;;) {
    if (++steps > maxSteps) throw new VmError("step limit");
    const insn = slots[pc];
    if (!insn) throw new VmError(`pc ${pc} is not an instruction`);
    const cls = insn.code & 0x07;
    const srcX = (insn.code & 0x08) !== 0;
    const op = insn.code & 0xf0;
    const setReg = (r: number, v: bigint): void => {
      if (r === 10) throw new VmError("write to r10");
      reg[r] = u64(v);
    };
    switch (cls) {
      case 0x07: // ALU64
      case 0x04: {
        // ALU
        const w64 = cls === 0x07;
        const dst = reg[insn.dst]!;
        const srcVal = srcX ? reg[insn.src]! : u64(BigInt(insn.imm));
        if (op === 0xd0) {
          const bits = BigInt(insn.imm);
          const mask = (1n << bits) - 1n;
          const swap = (x: bigint): bigint => {
            let y = 0n;
            for (let i = 0n; i < bits; i += 8n) y = (y << 8n) | ((x >> i) & 0xffn);
            return y;
          };
          if (w64 || srcX) setReg(insn.dst, swap(dst & mask));
          else setReg(insn.dst, dst & mask);
          break;
        }
        const a = w64 ? dst : u32(dst);
        const b = w64 ? srcVal : u32(srcVal);
        const sa = w64 ? s64(a) : s32(a);
        const sb = w64 ? s64(b) : s32(b);
        const bits = w64 ? 64n : 32n;
        const signed = insn.off === 1;
        let r: bigint;
        switch (op) {
          case 0x00: r = a + b; break;
          case 0x10: r = a - b; break;
          case 0x20: r = a * b; break;
          case 0x30: r = b === 0n ? 0n : signed ? (sb === -1n ? -sa : sa / sb) : a / b; break;
          case 0x40: r = a | b; break;
          case 0x50: r = a & b; break;
          case 0x60: r = a << (b & (bits - 1n)); break;
          case 0x70: r = a >> (b & (bits - 1n)); break;
          case 0x80: r = -a; break;
          case 0x90: r = b === 0n ? a : signed ? (sb === -1n ? 0n : sa % sb) : a % b; break;
          case 0xa0: r = a ^ b; break;
          case 0xb0:
            if (insn.off === 0) r = b;
            else r = w64 ? BigInt.asIntN(insn.off, srcVal) : BigInt.asIntN(insn.off, u32(srcVal));
            break;
          case 0xc0: r = sa >> (b & (bits - 1n)); break;
          default:
            throw new VmError(`unknown ALU op 0x${insn.code.toString(16)}`);
        }
        setReg(insn.dst, w64 ? r : u32(r));
        break;
      }
      case 0x05: // JMP
      case 0x06: {
        // JMP32
        if (op === 0x80) {
          steps++;
          reg[0] = callHelper(insn.imm);
          for (let r = 1; r <= 5; r++) reg[r] = POISON + BigInt(r);
          break;
        }
        if (op === 0x90) return finish(reg[0]!);
        if (op === 0x00) {
          pc += 1 + (cls === 0x06 ? insn.imm : insn.off);
          continue;
        }
        const w64 = cls === 0x05;
        const x = w64 ? reg[insn.dst]! : u32(reg[insn.dst]!);
        const yRaw = srcX ? reg[insn.src]! : u64(BigInt(insn.imm));
        const y = w64 ? yRaw : u32(yRaw);
        const sx = w64 ? s64(x) : s32(x);
        const sy = w64 ? s64(y) : s32(y);
        let taken: boolean;
        switch (op) {
          case 0x10: taken = x === y; break;
          case 0x20: taken = x > y; break;
          case 0x30: taken = x >= y; break;
          case 0x40: taken = (x & y) !== 0n; break;
          case 0x50: taken = x !== y; break;
          case 0x60: taken = sx > sy; break;
          case 0x70: taken = sx >= sy; break;
          case 0xa0: taken = x < y; break;
          case 0xb0: taken = x <= y; break;
          case 0xc0: taken = sx < sy; break;
          case 0xd0: taken = sx <= sy; break;
          default:
            throw new VmError(`unknown jump op 0x${insn.code.toString(16)}`);
        }
        pc += 1 + (taken ? insn.off : 0);
        continue;
      }
      case 0x01: {
        // LDX
        const size = SIZE_BYTES[insn.code & 0x18]!;
        const mode = insn.code & 0xe0;
        const v = load(u64(reg[insn.src]! + BigInt(insn.off)), size);
        if (mode === 0x60) setReg(insn.dst, v);
        else if (mode === 0x80) setReg(insn.dst, BigInt.asIntN(size * 8, v));
        else throw new VmError(`unknown LDX mode 0x${insn.code.toString(16)}`);
        break;
      }
      case 0x02: {
        // ST
        const size = SIZE_BYTES[insn.code & 0x18]!;
        store(u64(reg[insn.dst]! + BigInt(insn.off)), size, u64(BigInt(insn.imm)));
        break;
      }
      case 0x03: {
        // STX
        const size = SIZE_BYTES[insn.code & 0x18]!;
        const mode = insn.code & 0xe0;
        const addr = u64(reg[insn.dst]! + BigInt(insn.off));
        if (mode === 0x60) store(addr, size, reg[insn.src]!);
        else if (mode === 0xc0) {
          const mask = size === 8 ? U64 : 0xffffffffn;
          const old = load(addr, size);
          if ((insn.imm & ~0x01) !== 0x00) throw new VmError(`atomic op 0x${insn.imm.toString(16)} not supported`);
          store(addr, size, (old + reg[insn.src]!) & mask);
          if (insn.imm & 0x01) setReg(insn.src, old);
        } else throw new VmError(`unknown STX mode 0x${insn.code.toString(16)}`);
        break;
      }
      case 0x00: {
        // LD
        if (insn.code === 0x18) {
          const sym = relocAt.get(pc);
          if (sym !== undefined) {
            const k = mapNames.indexOf(sym);
            if (k < 0) throw new VmError(`relocation to unknown map ${sym}`);
            setReg(insn.dst, MAP_HANDLE_BASE + BigInt(k) * 0x100n);
          } else setReg(insn.dst, u64(insn.imm64!));
          pc += 2;
          continue;
        }
        const mode = insn.code & 0xe0;
        const size = SIZE_BYTES[insn.code & 0x18]!;
        const at = (mode === 0x40 ? s64(reg[insn.src]!) : 0n) + BigInt(insn.imm);
        for (let r = 1; r <= 5; r++) reg[r] = POISON + BigInt(r);
        if (mode !== 0x20 && mode !== 0x40) throw new VmError(`unknown LD mode 0x${insn.code.toString(16)}`);
        if (at < 0n || at + BigInt(size) > BigInt(packet.length)) return finish(0n);
        let v = 0n;
        for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(packet[Number(at) + i]!);
        reg[0] = v;
        break;
      }
      default:
        throw new VmError(`unknown instruction class ${cls}`);
    }
    pc++;
  }

  function callHelper(id: number): bigint {
    switch (id) {
      case 1: {
        const map = mapOf(reg[1]!);
        const o = map.lookupObject(readBytes(reg[2]!, map.keySize));
        return o ? addressOf(o) : 0n;
      }
      case 2: {
        const map = mapOf(reg[1]!);
        const key = readBytes(reg[2]!, map.keySize);
        const value = readBytes(reg[3]!, map.valueSize);
        const flags = reg[4]!;
        return u64(BigInt(map.update(key, value, flags > 2n ? -1 : Number(flags))));
      }
      case 3: {
        const map = mapOf(reg[1]!);
        return u64(BigInt(map.delete(readBytes(reg[2]!, map.keySize))));
      }
      case 5:
        return DEFAULT_TIME;
      case 8:
        return 0n;
      case 14:
        return DEFAULT_PID_TGID;
      default:
        throw new VmError(`unknown helper ${id}`);
    }
  }
}
