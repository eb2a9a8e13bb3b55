-- Loop shape benchmark (npm run bench:loops): twin of nested-8x8.c
local out = bpf.map("array", 1, "uint32_t", "uint64_t")
bpf.socket(function (skb)
  local s, m = 0, skb.mark
  for i = 0, 7 do for j = 0, 7 do s = s * 31 + (i ~ j ~ m) end end
  out[0] = s
  return 0
end)
