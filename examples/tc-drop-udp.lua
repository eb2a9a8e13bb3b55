-- A tc classifier: drop UDP to port 53 (TC_ACT_SHOT = 2), let the rest through (TC_ACT_OK = 0),
-- counting what it dropped.
local bpf = require('bpf')
local dropped = bpf.map('array', 1, 'uint32_t', 'uint64_t')

bpf.tc(function (skb)
  if pkt.ip.proto == 17 and pkt.ip.udp.dst_port == 53 then
    xadd(dropped[0], 1)
    return 2
  end
  return 0
end)
