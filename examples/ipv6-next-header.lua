-- IPv6 packets by next header (6 TCP, 17 UDP, 58 ICMPv6, ...), and how many hop limits
-- are below 8.
local bpf = require('bpf')
local by_next = bpf.map('percpu_hash', 256, 'uint8_t', 'uint64_t')
local short_lived = bpf.map('array', 1, 'uint32_t', 'uint64_t')

bpf.socket(function (skb)
  if pkt.type ~= 0x86dd then return 0 end
  local nh = pkt.ip6.next_header
  local n = by_next[nh]
  by_next[nh] = (n or 0) + 1
  if pkt.ip6.hop_limit < 8 then xadd(short_lived[0], 1) end
  return 0
end)
