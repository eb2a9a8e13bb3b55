-- XDP: pass packets that arrive on the loopback interface (ifindex 1), drop the others.
local bpf = require('bpf')

bpf.xdp(function (ctx)
  if ctx.ingress_ifindex == 1 then
    return 2 -- XDP_PASS
  end
  return 1 -- XDP_DROP
end)
