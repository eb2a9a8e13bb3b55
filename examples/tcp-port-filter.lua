-- A socket filter that keeps TCP packets to port 80 and drops everything else.
local bpf = require('bpf')

bpf.socket(function (skb)
  if pkt.ip.proto == 6 and pkt.ip.tcp.dst_port == 80 then
    return skb.len
  end
  return 0
end)
