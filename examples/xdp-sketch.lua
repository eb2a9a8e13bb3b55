-- XDP: a count-min sketch of TCP and UDP flows. Two rows of 64 counters; each row has its own
-- hash of the flow (addresses and ports), mixed by a local function too large to inline, so
-- it stays one BPF-to-BPF subprogram called once per row. The smaller row counter is the
-- flow's estimate; flows estimated above a limit are dropped.
local bpf = require('bpf')

local LIMIT = 3
local sketch = bpf.map('array', 128, 'uint32_t', 'uint64_t')

local function row_slot(seed, addrs, ports)
  local h = bit.bxor(addrs, seed)
  h = bit.bxor(h, bit.rshift(h, 33)) * 0xff51afd7ed558ccd
  h = bit.bxor(h, ports, bit.rshift(h, 29)) * 0xc4ceb9fe1a85ec53
  h = bit.bxor(h, bit.rol(h, 17), bit.rshift(h, 47))
  h = (h + seed) * 0x9e3779b97f4a7c15
  h = bit.bxor(h, bit.rshift(h, 32), bit.ror(h, 7))
  h = bit.bxor(h, bit.lshift(h, 13), bit.rshift(h, 41)) * 0xbf58476d1ce4e5b9
  h = bit.bxor(h, bit.ror(h, 23), bit.rol(h, 11))
  return bit.band(bit.bxor(h, bit.rshift(h, 19)), 63)
end

bpf.xdp(function (ctx)
  if eth.type ~= c.eth.ip then return XDP_PASS end
  local ip = pkt.ip
  local ports
  if ip.proto == c.ip.proto_tcp then
    ports = bit.bor(bit.lshift(ip.tcp.src_port, 16), ip.tcp.dst_port)
  elseif ip.proto == c.ip.proto_udp then
    ports = bit.bor(bit.lshift(ip.udp.src_port, 16), ip.udp.dst_port)
  else
    return XDP_PASS
  end
  local addrs = bit.bor(bit.lshift(ip.src, 32), ip.dst)
  local a = row_slot(0x243f6a88, addrs, ports)
  local b = row_slot(0x85a308d3, addrs, ports) + 64
  local ca = sketch[a] + 1
  local cb = sketch[b] + 1
  sketch[a] = ca
  sketch[b] = cb
  if math.min(ca, cb) > LIMIT then return XDP_DROP end
  return XDP_PASS
end)
