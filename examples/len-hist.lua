-- A log2 histogram of packet lengths: slot k counts packets of 2^k .. 2^(k+1)-1 bytes
-- (bcc's math.log2 is the floor of the base-2 logarithm).
local bpf = require('bpf')

local hist = bpf.map('array', 64, 'uint32_t', 'uint64_t')

bpf.socket(function (skb)
  xadd(hist[math.log2(skb.len)], 1)
  return 0
end)
