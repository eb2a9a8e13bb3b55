-- Count HTTP requests by method: compare the first four bytes of the TCP payload with
-- strings and use them as the map key (bcc's sock-parse-http, written anew).
local bpf = require('bpf')

local methods = bpf.map('hash', 64, 'uint32_t', 'uint64_t')

bpf.socket('lo', function (skb)
  local data = pkt.ip.tcp.data
  if data + 4 > skb.len then return 0 end
  local h = data(0, 4)
  if h == 'GET ' or h == 'POST' or h == 'PUT ' or h == 'HEAD' or h == 'DELE' then
    local n = methods[h]
    if not n then methods[h] = 1 else xadd(methods[h], 1) end
    return 1
  end
  return 0
end)
