-- Loop shape benchmark (npm run bench:loops): twin of step-3.c
local out = bpf.map("array", 1, "uint32_t", "uint64_t")
bpf.socket(function (skb)
  local s, m = 0, skb.mark
  for i = 1, 64, 3 do s = s * 31 + (i ~ m) end
  out[0] = s
  return 0
end)
