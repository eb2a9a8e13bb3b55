-- A tc classifier keeping the smallest and largest IPv4 TTL seen per protocol, and
-- passing every packet (TC_ACT_OK).
local bpf = require('bpf')
local lowest = bpf.map('hash', 256, 'uint8_t', 'uint8_t')
local highest = bpf.map('hash', 256, 'uint8_t', 'uint8_t')

bpf.tc(function (skb)
  if skb.protocol ~= 0x0008 then return 0 end -- ETH_P_IP in network byte order
  local proto, ttl = pkt.ip.proto, pkt.ip.ttl
  local lo, hi = lowest[proto], highest[proto]
  if not lo or ttl < lo then lowest[proto] = ttl end
  if not hi or ttl > hi then highest[proto] = ttl end
  return 0
end)
