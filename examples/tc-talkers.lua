-- tc: per-source packet counts in an LRU hash (old sources are evicted when it fills, so it
-- never needs cleaning) and bytes per IP protocol in a per-CPU hash; a source past its
-- allowance is dropped (TC_ACT_SHOT), everything else passes (TC_ACT_OK).
local bpf = require('bpf')

local ALLOWANCE = 4

local talkers = bpf.map('lru_hash', 1024, 'uint32_t', 'uint64_t')
local bytes = bpf.map('percpu_hash', 256, 'uint32_t', 'uint64_t')

bpf.tc(function (skb)
  if skb.protocol ~= 0x0008 then return TC_ACT_OK end -- IPv4 (network order)
  local ip = pkt.ip
  local b = bytes[ip.proto]
  if b then
    xadd(b, skb.len)
  else
    bytes[ip.proto] = skb.len
  end
  local src = ip.src
  local n = (talkers[src] or 0) + 1
  talkers[src] = n
  if n > ALLOWANCE then return TC_ACT_SHOT end
  return TC_ACT_OK
end)
