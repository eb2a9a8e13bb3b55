-- Verify IPv4 header checksums (without options): add the header's ten 16-bit words, fold
-- the carries back in (twice is always enough for ten words), and count good and bad headers.
local bpf = require('bpf')
local GOOD, BAD = 0, 1
local results = bpf.map('array', 2, 'uint32_t', 'uint64_t')

bpf.socket(function (skb)
  if pkt.type ~= 0x0800 or pkt.ip.hlen ~= 5 then return 0 end
  local ip = pkt.ip
  local sum = ((ip.ver << 12) | (ip.hlen << 8) | ip.tos) + ip.tlen + ip.id + ip.frag
    + ((ip.ttl << 8) | ip.proto) + ip.checksum
    + (ip.src >> 16) + (ip.src & 0xffff) + (ip.dst >> 16) + (ip.dst & 0xffff)
  for _ = 1, 2 do
    sum = (sum & 0xffff) + (sum >> 16)
  end
  if sum == 0xffff then xadd(results[GOOD], 1) else xadd(results[BAD], 1) end
  return 0
end)
