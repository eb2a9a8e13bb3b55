-- Loop shape benchmark (npm run bench:loops): twin of while-50.c
local out = bpf.map("array", 1, "uint32_t", "uint64_t")
bpf.socket(function (skb)
  local s, m = 0, skb.mark
  local i = 0 while i < 50 do s = s * 31 + (i ~ m) i = i + 1 end
  out[0] = s
  return 0
end)
