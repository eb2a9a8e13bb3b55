-- Per-protocol flow statistics in a struct-valued hash map, updated in place through a
-- reference to the map value (bcc style: declare the C struct with ffi.cdef, look the
-- element up once, create it from a stack object when it is missing).
local ffi = require('ffi')
local bpf = require('bpf')

ffi.cdef [[
struct flow_stats {
  uint64_t packets;
  uint64_t bytes;
  uint32_t min_len, max_len;
  uint16_t last_ttl;
};
]]

local stats = bpf.map('hash', 256, ffi.typeof('uint32_t'), ffi.typeof('struct flow_stats'))

bpf.socket('lo', function (skb)
  local proto = pkt.ip.proto
  local len = skb.len
  local s = stats[proto]
  if not s then
    local fresh = ffi.new('struct flow_stats')
    fresh.packets = 1
    fresh.bytes = len
    fresh.min_len = len
    fresh.max_len = len
    fresh.last_ttl = pkt.ip.ttl
    stats[proto] = fresh
    return 0
  end
  s.packets = s.packets + 1
  s.bytes = s.bytes + len
  if len < s.min_len then s.min_len = len end
  if len > s.max_len then s.max_len = len end
  s.last_ttl = pkt.ip.ttl
  return 0
end)
