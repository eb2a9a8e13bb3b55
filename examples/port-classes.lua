-- TCP and UDP traffic by destination port class (well-known < 1024, registered < 49152,
-- dynamic), bytes per class, in a per-CPU array.
local bpf = require('bpf')
local WELL_KNOWN, REGISTERED, DYNAMIC = 0, 1, 2
local bytes = bpf.map('percpu_array', 3, 'uint32_t', 'uint64_t')

local function by_port_class(skb)
  local proto = pkt.ip.proto
  local port = -1
  if proto == 6 then
    port = pkt.ip.tcp.dst_port
  elseif proto == 17 then
    port = pkt.ip.udp.dst_port
  end
  if port < 0 then return 0 end
  local c = DYNAMIC
  if port < 1024 then c = WELL_KNOWN elseif port < 49152 then c = REGISTERED end
  xadd(bytes[c], skb.len)
  return 0
end

bpf.socket(by_port_class)
