-- XDP: drop DNS queries (UDP to port 53) over IPv4 and IPv6, counting them by IP version;
-- pass everything else. A packet too short for a header it reads is passed (XDP_PASS).
local bpf = require('bpf')
local dropped = bpf.map('array', 2, 'uint32_t', 'uint64_t')

bpf.xdp(function (ctx)
  if eth.type == c.eth.ip then
    local ip = pkt.ip
    if ip.proto == c.ip.proto_udp and ip.udp.dst_port == 53 then
      xadd(dropped[0], 1)
      return XDP_DROP
    end
  elseif eth.type == c.eth.ip6 then
    local ip6 = pkt.ip6
    if ip6.next_header == c.ip.proto_udp and ip6.udp.dst_port == 53 then
      xadd(dropped[1], 1)
      return XDP_DROP
    end
  end
  return XDP_PASS
end)
