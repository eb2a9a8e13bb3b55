-- One event per sched_switch (a raw tracepoint): who ran, sent to user space through a
-- perf event array, and the last one kept in a hash map too. The event is a C struct
-- filled field by field; comm() writes the task name into its char array.
local ffi = require('ffi')
local bpf = require('bpf')

local event_t = 'struct { uint64_t pid_tgid; uint32_t uid, gid; uint64_t time; char comm[16]; int64_t sent; }'
local events = bpf.map('perf_event_array', 64)
local last = bpf.map('hash', 1, 'uint32_t', ffi.typeof(event_t))

bpf.raw_tracepoint('sched_switch', function (ctx)
  local e = ffi.new(event_t)
  e.pid_tgid = pid_tgid()
  local ids = uid_gid()
  e.uid = bit.band(ids, 0xffffffff)
  e.gid = bit.rshift(ids, 32)
  e.time = time()
  comm(e.comm)
  e.sent = perf_submit(events, e)
  last[0] = e
  return 0
end)
