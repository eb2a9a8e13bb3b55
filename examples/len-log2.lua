-- Packet sizes as a log2 histogram: bucket b counts packets of 2^b .. 2^(b+1)-1 bytes.
-- The bucket is found by a bounded loop over the bits of skb.len.
local bpf = require('bpf')
local sizes = bpf.map('array', 16, 'uint32_t', 'uint64_t')

bpf.socket(function (skb)
  local bucket = 0
  for b = 1, 15 do
    if skb.len >> b ~= 0 then
      bucket = b
    end
  end
  xadd(sizes[bucket], 1)
  return 0
end)
