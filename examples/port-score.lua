-- A local Lua function called twice from the program body: scores the source and the
-- destination port, and the sum selects a counter. At -O2 small functions are inlined;
-- with --inline-threshold 0 (or -O0) each call is a real BPF-to-BPF call.
local bpf = require('bpf')

local scores = bpf.map('array', 8, 'uint32_t', 'uint64_t')

local function score(port)
  if port < 1024 then
    return 2 -- a well-known service
  elseif port < 49152 then
    return 1 -- a registered one
  end
  return 0 -- ephemeral
end

bpf.socket(function (skb)
  local tcp = pkt.ip.tcp
  local s = score(tcp.src_port) + score(tcp.dst_port)
  xadd(scores[s], 1)
  return s
end)
