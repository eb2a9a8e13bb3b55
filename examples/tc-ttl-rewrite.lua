-- A tc classifier that raises the TTL of IPv4 packets to at least 64 (the IPv4 header
-- checksum is updated with bpf_l3_csum_replace), counting the packets it rewrote.
local bpf = require('bpf')
local rewritten = bpf.map('array', 1, 'uint32_t', 'uint64_t')

bpf.tc(function (skb)
  if eth.type == c.eth.ip and pkt.ip.ttl < c.ip.ttl_default then
    pkt.ip.ttl = c.ip.ttl_default
    xadd(rewritten[0], 1)
  end
  return TC_ACT_OK
end)
