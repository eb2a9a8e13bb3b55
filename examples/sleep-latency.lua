-- How long threads sleep in nanosleep, as a log2 histogram of nanoseconds: the kprobe
-- stamps the entry time per thread, the kretprobe takes the difference.
local bpf = require('bpf')
local start = bpf.map('hash', 4096, 'uint64_t', 'uint64_t')
local hist = bpf.map('array', 64, 'uint32_t', 'uint64_t')

bpf.kprobe('do_nanosleep', function (ctx)
  start[pid_tgid()] = time()
  return 0
end)

bpf.kretprobe('do_nanosleep', function (ctx)
  local id = pid_tgid()
  local t0 = start[id]
  if not t0 then return 0 end
  start[id] = nil
  local delta = time() - t0
  local bucket = 0
  for b = 1, 63 do
    if delta >> b ~= 0 then bucket = b end
  end
  xadd(hist[bucket], 1)
  return 0
end)
