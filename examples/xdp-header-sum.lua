-- XDP: verify the IPv4 header checksum of each packet by summing the header's 16-bit words
-- in a bounded loop (any header length, options included), and count good and bad headers.
local bpf = require('bpf')
local GOOD, BAD = 0, 1
local headers = bpf.map('array', 2, 'uint32_t', 'uint64_t')

bpf.xdp(function (ctx)
  if eth.type == c.eth.ip then
    local ip = pkt.ip
    local words = ip.hlen * 2
    local sum = 0
    for i = 0, 29 do
      if i >= words then break end
      sum = sum + (ip[2 * i] << 8) + ip[2 * i + 1]
    end
    sum = (sum & 0xffff) + (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16)
    local verdict = BAD
    if sum == 0xffff then verdict = GOOD end
    xadd(headers[verdict], 1)
  end
  return XDP_PASS
end)
