-- Counts openat(2) calls per thread: a tracepoint program whose `args` are typed from the
-- event's format (/sys/kernel/tracing/events/syscalls/sys_enter_openat/format).
--   luabpf run examples/opens-by-pid.lua -- ls /
local opens = bpf.map('hash', 4096, 'uint32_t', 'uint64_t')

bpf.tracepoint('syscalls/sys_enter_openat', function (args)
  local pid = args.common_pid
  opens[pid] = (opens[pid] or 0) + 1
end)
