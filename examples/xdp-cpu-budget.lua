-- XDP: per-CPU packet counts, and a per-CPU budget of 1000 packets per millisecond time
-- slot beyond which packets from that CPU are dropped (XDP_DROP = 1, XDP_PASS = 2).
local bpf = require('bpf')
local BUDGET = 1000
local seen = bpf.map('percpu_array', 1, 'uint32_t', 'uint64_t')
local slot = bpf.map('percpu_array', 2, 'uint32_t', 'uint64_t')

bpf.xdp(function (ctx)
  xadd(seen[0], 1)
  local now = time() // 1000000
  local current = slot[0]
  if current ~= now then
    slot[0] = now
    slot[1] = 0
  end
  local used = slot[1] or 0
  if used >= BUDGET then return 1 end
  slot[1] = used + 1
  return 2
end)
