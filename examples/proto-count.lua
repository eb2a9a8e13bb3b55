-- Count packets per IP protocol (6 = TCP, 17 = UDP, 1 = ICMP) in an array map.
local bpf = require('bpf')
local counts = bpf.map('array', 256, 'uint32_t', 'uint64_t')

bpf.socket(function (skb)
  xadd(counts[pkt.ip.proto], 1)
  return 0
end)
