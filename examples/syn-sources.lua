-- Count TCP SYNs (without ACK) per IPv4 source address in an LRU hash: the usual start of
-- a SYN-flood detector.
local bpf = require('bpf')
local syns = bpf.map('lru_hash', 8192, 'uint32_t', 'uint64_t')

bpf.socket(function (skb)
  if pkt.type ~= 0x0800 or pkt.ip.proto ~= 6 then return 0 end
  local tcp = pkt.ip.tcp
  if tcp.flag_syn == 1 and tcp.flag_ack == 0 then
    local src = pkt.ip.src
    local n = syns[src]
    syns[src] = (n or 0) + 1
  end
  return 0
end)
