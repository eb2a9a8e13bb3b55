-- Count openat(2) calls by task name and user-space call stack: a tracepoint whose key is a C
-- struct (the name from comm(), the stack's id in a stack_trace map). User space resolves
-- each id to its return addresses by reading `stacks`.
--   luabpf run examples/open-stacks.lua -- cat /etc/hostname
local ffi = require('ffi')
local bpf = require('bpf')

local key_t = 'struct { char name[16]; int32_t stack; }'
local opens = bpf.map('hash', 1024, ffi.typeof(key_t), 'uint64_t')
local stacks = bpf.map('stack_trace', 1024)

bpf.tracepoint('syscalls/sys_enter_openat', function (args)
  local key = ffi.new(key_t)
  comm(key.name)
  key.stack = stack_id(stacks, BPF.F_USER_STACK)
  local n = opens[key]
  if n then xadd(n, 1) else opens[key] = 1 end
end)
