-- Count task switches by task name and kernel stack (bcc's offcputime pattern): a struct
-- key with a char array filled by comm() and a stack id from a stack_trace map.
local ffi = require('ffi')
local bpf = require('bpf')

local key_t = 'struct { char name[16]; int32_t stack_id; }'
local counts = bpf.map('hash', 1024, ffi.typeof(key_t), 'uint64_t')
local stacks = bpf.map('stack_trace', 1024)

bpf.kprobe('offcpu:finish_task_switch', function (ptregs)
  local key = ffi.new(key_t)
  comm(key.name)
  key.stack_id = stack_id(stacks, BPF.F_FAST_STACK_CMP)
  local n = counts[key]
  if not n then counts[key] = 1 else xadd(n, 1) end
  return 0
end)
