-- The mean and the spread of packet lengths, as running sums of the length and of its
-- square (the user-space reader takes the square root), plus the integer square root of
-- each length computed in the program by bisection (a while loop) and a count of the
-- Newton steps that would refine it (a repeat loop), both bounded for the verifier.
local bpf = require('bpf')
local SUM, SQUARES, ROOTS, COUNT = 0, 1, 2, 3
local stats = bpf.map('array', 4, 'uint32_t', 'uint64_t')

bpf.socket(function (skb)
  local n = skb.len
  local lo, hi = 0, 256
  local steps = 0
  while lo + 1 < hi and steps < 16 do
    local mid = (lo + hi) // 2
    if mid * mid <= n then lo = mid else hi = mid end
    steps = steps + 1
  end
  local x, k = lo + 1, 0
  repeat
    x = (x + n // x) // 2
    k = k + 1
  until x * x <= n or k == 4
  xadd(stats[SUM], n)
  xadd(stats[SQUARES], n * n)
  xadd(stats[ROOTS], lo)
  xadd(stats[COUNT], 1)
  return 0
end)
