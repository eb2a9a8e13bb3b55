// The Lua 5.4 oracle: the regression programs' expected values are Lua 5.4's, the shims
// implement only the documented deviations and the kernel's map rules.
import { compileSource } from "luabpf";
import { describe, expect, test } from "vitest";
import { buildPacket } from "@luabpf/loader";
import { LUA, rewriteForOracle, runOracle } from "../src/oracle.js";
import { REGRESSIONS, regressionInputs } from "./cases.js";

/** The oracle's maps (declaration order) named as the compiler names them. */
function named(source: string, maps: Record<string, string>[]): Record<string, Record<string, string>> {
  const names = compileSource(source, { file: "t.lua", optLevel: 0 }).object.maps.map((m) => m.name);
  expect(names).toHaveLength(maps.length);
  return Object.fromEntries(names.map((n, i) => [n, maps[i]!]));
}

describe("the Lua 5.4 oracle", () => {
  test.each(REGRESSIONS.map((c) => [c.name, c] as const))("agrees with the regression case: %s", (_name, c) => {
    const r = runOracle(c.source, regressionInputs(c));
    expect(r.kind === "ok" ? "ok" : r.message).toBe("ok");
    if (r.kind !== "ok") return;
    expect(r.returns).toEqual(c.returns);
    expect(named(c.source, r.maps)).toEqual(c.maps ?? Object.fromEntries(compileSource(c.source, { file: "t.lua" }).object.maps.map((m) => [m.name, {}])));
  });

  test("rewrites only //, % and xadd", () => {
    expect(rewriteForOracle("local a = (b // c) % 3 + d // (e % f)\nxadd(m[k + 1], n // 2)")).toBe(
      "local a = __imod(__idiv(b, c), 3) + __idiv(d, __imod(e, f))\n__xadd(m, k + 1, __idiv(n, 2))",
    );
  });

  test("documented deviations and kernel map rules", () => {
    const src = `local a = bpf.map("array", 4, "uint32_t", "int8_t")
local h = bpf.map("hash", 2, "uint16_t", "uint64_t")
bpf.socket(function (skb)
  a[0] = 7 // 0
  a[1] = 7 % 0
  a[2] = 300         -- int8_t: truncated to 44
  a[3] = 200         -- reads back as -56
  a[9] = 1           -- out of range: the update fails
  a[1] = nil         -- arrays cannot delete
  h[0x10001] = 5     -- key truncated to 16 bits
  h[2] = 6
  h[3] = 7           -- full: refused
  xadd(h[1], 10)
  xadd(h[4], 10)     -- absent: nothing
  return a[3] * 1000 + (h[3] or 99) + (a[9] == nil and 1 or 0) * 100000
end)`;
    const r = runOracle(src, [{ packet: buildPacket("tcp") }]);
    expect(r).toEqual({ kind: "ok", returns: [(-56 * 1000 + 99 + 100000) >>> 0], maps: [{ "1": "7", "2": "44", "3": "200" }, { "1": "15", "2": "6" }] });
  });

  test("a program Lua never finishes is not valid Lua for the oracle, not a crash of the tool", () => {
    // Found by the long differential run: the reducer dropped a loop's counter update, and
    // lua5.4's timeout (ETIMEDOUT) threw out of the whole run.
    const r = runOracle("bpf.socket(function (skb)\n  local c = 0\n  while c < 2 do end\n  return c\nend)", [{ packet: buildPacket("tcp") }], 500);
    expect(r).toEqual({ kind: "lua-error", message: `${LUA} did not finish within 500 ms` });
  });

  test("packet fields, context fields and short packets", () => {
    const src = `local out = bpf.map("hash", 8, "uint32_t", "uint64_t")
bpf.socket(function (skb)
  out[1] = pkt.ip.proto
  out[2] = pkt.ip.tcp.dst_port
  out[3] = skb.mark + skb.len
  out[4] = pkt.ip.src
  return pkt.ip.tcp.flags
end)`;
    const frame = buildPacket("tcp,dport=443,src=10.1.2.3");
    const r = runOracle(src, [{ packet: frame, mark: 5 }, { packet: frame.subarray(0, 20), mark: 9 }]);
    expect(r).toEqual({ kind: "ok", returns: [2, 0], maps: [{ "1": "6", "2": "443", "3": String(frame.length + 5), "4": String(0x0a010203) }] });
  });

  test("a Lua error is reported, not hidden", () => {
    const r = runOracle("bpf.socket(function (skb) local x = nil return x + 1 end)", [{ packet: buildPacket("tcp") }]);
    expect(r.kind).toBe("lua-error");
  });
});
