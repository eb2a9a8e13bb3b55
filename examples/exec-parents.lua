-- Who runs what: on every exec, the new program's pid, its parent's pid and its name go to
-- user space through a ring buffer. task() is the current `struct task_struct *`; its
-- fields are read with CO-RE relocations, so the object runs on kernels whose
-- task_struct has another layout.
--   luabpf run examples/exec-parents.lua -- sh -c 'ls; date'
ffi.cdef [[
struct exec_event { uint32_t pid; uint32_t ppid; char comm[16]; };
]]
local events = bpf.map('ringbuf', 65536)

bpf.raw_tracepoint('sched_process_exec', function (args)
  local e = ringbuf_reserve(events, 'struct exec_event')
  local t = task()
  e.pid = t.tgid
  e.ppid = t.real_parent.tgid
  comm(e.comm)
  ringbuf_submit(e)
end)
