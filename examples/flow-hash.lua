-- Spread flows over 16 buckets with a 64-bit mixing function built from the bit
-- library (rotations, xor-shifts and a multiply, like a splitmix step), and keep the
-- last mixed value of each bucket.
local bpf = require('bpf')

local buckets = bpf.map('array', 16, 'uint32_t', 'uint64_t')
local last = bpf.map('array', 16, 'uint32_t', 'uint64_t')

local GOLDEN = 0x9e3779b97f4a7c15

bpf.socket(function (skb)
  local ip = pkt.ip
  local tcp = ip.tcp
  local x = bit.bor(bit.lshift(ip.src, 32), ip.dst)
  x = bit.bxor(x, bit.bor(bit.lshift(tcp.src_port, 16), tcp.dst_port))
  x = x * GOLDEN
  x = bit.bxor(x, bit.rshift(x, 31))
  x = bit.rol(x, 27) * 0x94d049bb133111eb
  x = bit.bxor(x, bit.arshift(x, 29), bit.bnot(bit.ror(x, 13)))
  local bucket = bit.band(x, 15)
  xadd(buckets[bucket], 1)
  last[bucket] = x
  return bit.band(bit.bswap(x), 0xff)
end)
