-- Bytes per IPv4 source address: create the entry when absent, add otherwise.
local bpf = require('bpf')
local bytes = bpf.map('hash', 1024, 'uint32_t', 'uint64_t')

bpf.socket(function (skb)
  local src = pkt.ip.src
  local v = bytes[src]
  if not v then
    bytes[src] = skb.len
  else
    xadd(bytes[src], skb.len)
  end
  return 0
end)
