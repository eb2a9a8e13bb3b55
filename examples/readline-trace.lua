-- Print every line bash reads (a return probe on readline): copy the returned user
-- string into a stack buffer, skip empty lines and a chosen command, and print it with
-- bpf_trace_printk (read it from /sys/kernel/tracing/trace_pipe).
local ffi = require('ffi')
local bpf = require('bpf')

local SKIP = 'clear'

bpf.uprobe('/bin/bash:readline', function (ptregs)
  local line = ffi.new('char [64]')
  ffi.copy(line, ffi.cast('char *', ptregs.ret))
  if line[0] == 0 or line == SKIP then return 0 end
  print('%d: %s\n', bit.band(pid_tgid(), 0xffffffff), line)
  return 0
end, true)
