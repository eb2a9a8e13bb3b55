/**
 * The Lua 5.4 oracle: runs a luabpf program file in the real Lua 5.4 interpreter (Debian's
 * `lua5.4`), with shims only for
 *
 * - the documented deviations of the dialect (docs/language.md): `x // 0 == 0` and
 *   `x % 0 == x` (Lua raises an error); `/` is bcc's unsigned 64-bit integer division
 *   (`x / 0 == 0`); nothing else — shifts, wrap-around, floor division and comparisons are
 *   Lua 5.4's own;
 * - the dialect's libraries as docs/language.md defines them: `bit` (LuaJIT's names with
 *   64-bit semantics, counts modulo 64) and `math.log2` (the index of the highest set bit
 *   of the unsigned value, 0 for 0); `math.min`/`max`/`abs` are Lua's own;
 * - the bcc built-ins: `bpf.map` (a table with the kernel's map semantics: array elements
 *   always exist and cannot be deleted, hash maps refuse inserts when full, keys and values
 *   truncated to their C types, reads extended by signedness), `bpf.socket`/`bpf.tc`
 *   (record the program), `xadd`, the context (`skb.mark`, `skb.priority`, `skb.len` as
 *   given) and the `pkt` dissectors over the packet's bytes (written from the table in
 *   docs/language.md, not from the compiler's); a read past the end of the packet stops
 *   the program with 0, as the kernel's packet loads do;
 * - for raw tracepoints (`bpf.raw_tracepoint`): the arguments `args[i]` as given, and the
 *   task the kernel test run happens in (the process calling `BPF_PROG_TEST_RUN`, see
 *   {@link TaskIdentity}): `task().tgid`, `.pid`, `.real_parent.tgid`, `pid_tgid()`,
 *   `uid_gid()`.
 *
 * The program text is rewritten only where a shim must see a call Lua cannot intercept
 * (`a // b` → `__idiv(a, b)`, `a % b` → `__imod(a, b)`, `a / b` → `__udiv(a, b)`,
 * `xadd(m[k], n)` → `__xadd(m, k, n)`),
 * by splicing the source along luaparse's ranges, so everything else runs exactly as
 * written.
 *
 * The result has the kernel runner's shape (kernel.ts): each run's return value (low 32
 * bits) and every map's contents, maps listed in declaration order.
 */
import { spawnSync } from "node:child_process";
import luaparse from "luaparse";
import type * as lua from "luaparse";
import type { ProgramInput } from "./kernel.js";

/** The interpreter; override with LUABPF_LUA. */
export const LUA = process.env.LUABPF_LUA ?? "lua5.4";

/** What the oracle computed, or why it could not. */
export type OracleOutcome =
  | { readonly kind: "ok"; readonly returns: number[]; readonly maps: Record<string, string>[] }
  /**
   * Lua raised an error or did not finish within the timeout: the program is not valid Lua 5.4
   * under the shims (a generator bug, a program outside the differential subset, or a reducer's
   * candidate that lost a loop's counter update).
   */
  | { readonly kind: "lua-error"; readonly message: string };

type Ranged = lua.Node & { range: [number, number] };

/** Rewrites the operators and calls the shims must see (see the file comment). */
export function rewriteForOracle(source: string): string {
  const chunk = luaparse.parse(source, { locations: false, ranges: true, luaVersion: "5.3", encodingMode: "pseudo-latin1" }) as unknown as Ranged;
  return render(chunk, source);
}

function children(node: object): Ranged[] {
  const out: Ranged[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === "range" || key === "loc") continue;
    if (Array.isArray(value)) {
      for (const v of value) if (isRanged(v)) out.push(v);
    } else if (isRanged(value)) out.push(value);
  }
  return out.sort((a, b) => a.range[0] - b.range[0]);
}

function isRanged(v: unknown): v is Ranged {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string" && Array.isArray((v as { range?: unknown }).range);
}

function render(node: Ranged, source: string): string {
  if (node.type === "BinaryExpression" && (node.operator === "//" || node.operator === "%" || node.operator === "/")) {
    const fn = node.operator === "//" ? "__idiv" : node.operator === "%" ? "__imod" : "__udiv";
    return `${fn}(${render(node.left as Ranged, source)}, ${render(node.right as Ranged, source)})`;
  }
  if (node.type === "CallExpression" && node.base.type === "Identifier" && node.base.name === "xadd" && node.arguments.length === 2 && node.arguments[0]!.type === "IndexExpression") {
    const target = node.arguments[0] as lua.IndexExpression;
    return `__xadd(${render(target.base as Ranged, source)}, ${render(target.index as Ranged, source)}, ${render(node.arguments[1] as Ranged, source)})`;
  }
  const [start, end] = node.range;
  let out = "";
  let at = start;
  for (const child of children(node)) {
    if (child.range[0] < at || child.range[1] > end) continue; // not nested in this node's text (luaparse quirk): leave as is
    out += source.slice(at, child.range[0]) + render(child, source);
    at = child.range[1];
  }
  return out + source.slice(at, end);
}

/** The shims, in Lua (see the file comment). */
const PRELUDE = String.raw`
local __maps, __program = {}, nil
local __CTYPES = {
  uint8_t = {1, false}, uint16_t = {2, false}, uint32_t = {4, false}, uint64_t = {8, false},
  int8_t = {1, true}, int16_t = {2, true}, int32_t = {4, true}, int64_t = {8, true},
  u8 = {1, false}, u16 = {2, false}, u32 = {4, false}, u64 = {8, false},
  s8 = {1, true}, s16 = {2, true}, s32 = {4, true}, s64 = {8, true},
  char = {1, true}, short = {2, true}, int = {4, true}, long = {8, true}, ["long long"] = {8, true},
  ["unsigned char"] = {1, false}, ["unsigned short"] = {2, false}, ["unsigned int"] = {4, false},
  ["unsigned long"] = {8, false}, ["unsigned long long"] = {8, false}, unsigned = {4, false},
}
local function __width(bytes, v) if bytes == 8 then return v end return v & ((1 << (bytes * 8)) - 1) end
local function __extend(bytes, signed, v)
  if bytes == 8 or not signed then return v end
  local sign = 1 << (bytes * 8 - 1)
  if v & sign ~= 0 then return v - (sign << 1) end
  return v
end
local function __num(v)
  if v == true then return 1 elseif v == false or v == nil then return 0 end
  return v
end
-- Unsigned 64-bit division (Lua 5.4 has math.ult but no unsigned division): halve the
-- dividend so that it is non-negative, divide, then correct the quotient by one.
function __udiv(n, d)
  if d == 0 then return 0 end
  if d < 0 then if math.ult(n, d) then return 0 else return 1 end end
  if n >= 0 then return n // d end
  local q = ((n >> 1) // d) << 1
  if not math.ult(n - q * d, d) then q = q + 1 end
  return q
end
bit = {}
function bit.band(x, ...) for _, y in ipairs({...}) do x = x & y end return x end
function bit.bor(x, ...) for _, y in ipairs({...}) do x = x | y end return x end
function bit.bxor(x, ...) for _, y in ipairs({...}) do x = x ~ y end return x end
function bit.bnot(x) return ~x end
function bit.lshift(x, n) return x << (n & 63) end
function bit.rshift(x, n) return x >> (n & 63) end
function bit.arshift(x, n)
  n = n & 63
  if n == 0 or x >= 0 then return x >> n end
  return (x >> n) | ~(-1 >> n)
end
function bit.rol(x, n) n = n & 63 if n == 0 then return x end return (x << n) | (x >> (64 - n)) end
function bit.ror(x, n) n = n & 63 if n == 0 then return x end return (x >> n) | (x << (64 - n)) end
function bit.bswap(x)
  local r = 0
  for _ = 1, 8 do r = (r << 8) | (x & 0xff) x = x >> 8 end
  return r
end
function bit.tobit(x) return ((x & 0xffffffff) ~ 0x80000000) - 0x80000000 end
function math.log2(x)
  local r = 0
  while x ~= 0 and x ~= 1 do x = x >> 1 r = r + 1 end
  return r
end
local function __is_array(kind) return kind == "array" or kind == "percpu_array" end
local __MapMeta = {}
__MapMeta.__index = function (m, k)
  local d = rawget(m, "__d")
  k = __width(d.ksize, __num(k))
  local v = d.data[k]
  if v == nil then
    if __is_array(d.kind) and math.ult(k, d.max) then return 0 end
    return nil
  end
  return __extend(d.vsize, d.vsigned, v)
end
__MapMeta.__newindex = function (m, k, v)
  local d = rawget(m, "__d")
  k = __width(d.ksize, __num(k))
  if __is_array(d.kind) then
    if not math.ult(k, d.max) then return end  -- the update fails (E2BIG); the program goes on
    if v == nil then return end              -- arrays cannot delete (EINVAL)
    d.data[k] = __width(d.vsize, __num(v))
    return
  end
  if v == nil then
    if d.data[k] ~= nil then d.count = d.count - 1 end
    d.data[k] = nil
    return
  end
  if d.data[k] == nil then
    if d.count >= d.max then return end      -- a full hash map refuses new keys (E2BIG)
    d.count = d.count + 1
  end
  d.data[k] = __width(d.vsize, __num(v))
end
local function __ctype(name, default)
  if name == nil then return __CTYPES[default] end
  local t = __CTYPES[name]
  if not t then error("oracle: unknown C type " .. tostring(name)) end
  return t
end
local bpf = {}
function bpf.map(kind, max, key, value)
  local k, v = __ctype(key, "uint32_t"), __ctype(value, "uint32_t")
  local d = { kind = kind, max = max or 4096, ksize = k[1], vsize = v[1], vsigned = v[2], data = {}, count = 0 }
  local m = setmetatable({ __d = d }, __MapMeta)
  __maps[#__maps + 1] = d
  return m
end
local function __declare(...)
  local args = table.pack(...)
  __program = args[args.n]
end
bpf.socket, bpf.tc, bpf.raw_tracepoint = __declare, __declare, __declare
local __task, __ids = {}, {}
function task() return __task end
function pid_tgid() return (__task.tgid << 32) | __task.pid end
function uid_gid() return (__ids.gid << 32) | __ids.uid end
function require(name)
  if name == "bpf" then return bpf end
  if name == "bit" then return bit end
  error("oracle: require of " .. tostring(name))
end
function __idiv(a, b) if b == 0 then return 0 end return a // b end
function __imod(a, b) if b == 0 then return a end return a % b end
function __xadd(m, k, n)
  local d = rawget(m, "__d")
  k = __width(d.ksize, __num(k))
  local old = d.data[k]
  if old == nil then
    if __is_array(d.kind) and math.ult(k, d.max) then old = 0 else return end
  end
  d.data[k] = __width(d.vsize, old + n)
end
xadd = function () error("oracle: xadd needs a map element: xadd(m[k], n)") end

-- The packet, from the Ethernet header, set per run; loads past its end stop the program.
local __packet = ""
local __ABORT = {}
local function __byte(off)
  if off < 0 or off >= #__packet then error(__ABORT) end
  return string.byte(__packet, off + 1)
end
local function __load(off, size)
  local v = 0
  for i = 0, size - 1 do v = (v << 8) | __byte(off + i) end
  return v
end
-- Header layouts from docs/language.md: field = {offset, size} or {offset, size, shift, bits}.
local __HEADERS = {
  eth = { fields = { type = {12, 2} }, next = { ip = "ip", ip6 = "ip6" } },
  ip = { fields = {
      ver = {0, 1, 4, 4}, hlen = {0, 1, 0, 4}, ihl = {0, 1, 0, 4}, tos = {1, 1}, len = {2, 2}, tlen = {2, 2},
      id = {4, 2}, identification = {4, 2}, frag = {6, 2}, df = {6, 2, 14, 1}, mf = {6, 2, 13, 1},
      foffset = {6, 2, 0, 13}, ttl = {8, 1}, proto = {9, 1}, checksum = {10, 2}, hchecksum = {10, 2},
      src = {12, 4}, dst = {16, 4} },
    next = { tcp = "tcp", udp = "udp", icmp = "icmp" } },
  tcp = { fields = {
      src_port = {0, 2}, dst_port = {2, 2}, seq = {4, 4}, seq_num = {4, 4}, ack = {8, 4}, ack_num = {8, 4},
      offset = {12, 1, 4, 4}, reserved = {12, 1, 0, 4}, flags = {13, 1},
      flag_fin = {13, 1, 0, 1}, flag_syn = {13, 1, 1, 1}, flag_rst = {13, 1, 2, 1}, flag_psh = {13, 1, 3, 1},
      flag_ack = {13, 1, 4, 1}, flag_urg = {13, 1, 5, 1}, flag_ece = {13, 1, 6, 1}, flag_cwr = {13, 1, 7, 1},
      window = {14, 2}, rcv_wnd = {14, 2}, checksum = {16, 2}, cksum = {16, 2}, urg_ptr = {18, 2} }, next = {} },
  udp = { fields = { src_port = {0, 2}, dst_port = {2, 2}, length = {4, 2}, len = {4, 2}, checksum = {6, 2}, crc = {6, 2} }, next = {} },
  icmp = { fields = { type = {0, 1}, code = {1, 1}, checksum = {2, 2} }, next = {} },
}
local function __header(name, at)
  return setmetatable({}, { __index = function (_, field)
    local h = __HEADERS[name]
    local f = h.fields[field]
    if f then
      local v = __load(at() + f[1], f[2])
      if f[3] then v = (v >> f[3]) & ((1 << f[4]) - 1) end
      return v
    end
    local nxt = h.next[field]
    if not nxt then error("oracle: unknown packet field " .. name .. "." .. tostring(field)) end
    if name == "eth" then return __header(nxt, function () return 14 end) end
    if name == "ip" then return __header(nxt, function () return 14 + (__byte(14) & 15) * 4 end) end
    error("oracle: no dissector for " .. nxt)
  end })
end
pkt = __header("eth", function () return 0 end)
local __ctx = {}
local __CTX_FIELDS = { mark = true, priority = true, len = true }
local skb_proxy = setmetatable({}, { __index = function (_, field)
  if not __CTX_FIELDS[field] then error("oracle: context field " .. tostring(field) .. " has no given value") end
  return __ctx[field]
end })
`;

/**
 * Who a raw tracepoint's test run sees as the current task: the process that calls
 * `BPF_PROG_TEST_RUN` (its main thread), as the kernel reports it to the program.
 */
export interface TaskIdentity {
  readonly tgid: number;
  readonly pid: number;
  /** `real_parent->tgid`. */
  readonly parentTgid: number;
  readonly uid: number;
  readonly gid: number;
}

/** This process as a task (Node's main thread: its thread id is the process id). */
export function thisProcess(): TaskIdentity {
  return { tgid: process.pid, pid: process.pid, parentTgid: process.ppid, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

/** A 64-bit value as a Lua integer literal (hexadecimal: a decimal one past 2^63 would be a float). */
const luaInteger = (decimal: string): string => `0x${BigInt.asUintN(64, BigInt(decimal)).toString(16)}`;

/** Runs the harness after the program: each input, then the maps. */
function harness(inputs: readonly ProgramInput[], task: TaskIdentity): string {
  const runs = inputs
    .map((input) => {
      const bytes = [...input.packet].map((b) => `\\${b}`).join("");
      const args = input.args ? `{ ${input.args.map((a, k) => `[${k}] = ${luaInteger(a)}`).join(", ")} }` : "nil";
      return `__run("${bytes}", ${input.mark ?? 0}, ${input.priority ?? 0}, ${args})`;
    })
    .join("\n");
  return String.raw`
__task.tgid, __task.pid, __task.real_parent = ${task.tgid}, ${task.pid}, { tgid = ${task.parentTgid} }
__ids.uid, __ids.gid = ${task.uid}, ${task.gid}
local function __arguments(args)
  return setmetatable({}, { __index = function (_, k)
    if args[k] == nil then error("oracle: argument " .. tostring(k) .. " has no given value") end
    return args[k]
  end })
end
local function __run(packet, mark, priority, args)
  __packet = packet
  __ctx.mark, __ctx.priority, __ctx.len = mark, priority, #packet
  local ok, r = pcall(__program, args and __arguments(args) or skb_proxy)
  if not ok then
    if r == __ABORT then r = 0 else error(r, 0) end
  end
  if r == true then r = 1 elseif r == false or r == nil then r = 0 end
  print("ret " .. (r & 0xffffffff))
end
if not __program then error("oracle: no program declared") end
${runs}
for i, d in ipairs(__maps) do
  print("map " .. i)
  local keys = {}
  for k in pairs(d.data) do keys[#keys + 1] = k end
  table.sort(keys, math.ult)
  for _, k in ipairs(keys) do
    local v = d.data[k]
    if not (__is_array(d.kind) and v == 0) then print(string.format("entry %d %d", k, v)) end
  end
end
`;
}

/** The complete Lua script the oracle runs for `source` on `inputs`, as `task` (raw tracepoints). */
export function oracleScript(source: string, inputs: readonly ProgramInput[], task: TaskIdentity = thisProcess()): string {
  // The program runs in a function of its own: its locals do not count against the prelude's (Lua allows 200 per function).
  return `${PRELUDE}\nlocal function __main()\n${rewriteForOracle(source)}\nend\n__main()\n${harness(inputs, task)}`;
}

/** Formats an integer as an unsigned 64-bit decimal (Lua prints negative integers as signed). */
function unsigned64(text: string): string {
  return BigInt.asUintN(64, BigInt(text)).toString();
}

/** Runs `source` on `inputs` in Lua 5.4. */
export function runOracle(source: string, inputs: readonly ProgramInput[], timeoutMs = 10_000, task: TaskIdentity = thisProcess()): OracleOutcome {
  let script: string;
  try {
    script = oracleScript(source, inputs, task);
  } catch (e) {
    return { kind: "lua-error", message: `not parsable as Lua: ${(e as Error).message}` };
  }
  const r = spawnSync(LUA, ["-"], { input: script, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT") return { kind: "lua-error", message: `${LUA} did not finish within ${timeoutMs} ms` };
  if (r.error) throw new Error(`cannot run ${LUA}: ${r.error.message}`);
  if (r.status !== 0) return { kind: "lua-error", message: (r.stderr || `exit ${r.status ?? r.signal}`).trim() };
  const returns: number[] = [];
  const maps: Record<string, string>[] = [];
  for (const line of r.stdout.split("\n")) {
    const [tag, a, b] = line.split(" ");
    if (tag === "ret") returns.push(Number(a));
    else if (tag === "map") maps.push({});
    else if (tag === "entry") maps[maps.length - 1]![unsigned64(a!)] = unsigned64(b!);
  }
  return { kind: "ok", returns, maps };
}
