-- Remember when each thread last entered nanosleep: time() under pid_tgid().
local bpf = require('bpf')
local last = bpf.map('hash', 4096, 'uint64_t', 'uint64_t')

bpf.kprobe('do_nanosleep', function (ctx)
  last[pid_tgid()] = time()
  return 0
end)
