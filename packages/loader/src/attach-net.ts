// Network hooks: XDP and tc through BPF links on an interface, socket filters on a packet
// socket. Interfaces are resolved in the network namespace of the calling thread.
//
// Socket filters: the socket is created with protocol 0, which receives nothing, the program is
// attached, and only then is the socket bound to ETH_P_ALL on the interface. Binding last means
// no packet can reach the socket before its filter is in place.
import type { AttachableProgram, AttachedParts, InterfaceRef, XdpMode } from "./attach.js";
import { AttachType, XdpFlag } from "@luabpf/platform";
import { LoaderError } from "./errors.js";
import { Os, bind, interfaceIndex, setsockoptInt, socket } from "./libc.js";
import { closeDescriptors } from "./attach.js";
import { linkCreate } from "./syscall-objects.js";

/** The index of an interface given by name or index (in this thread's network namespace). */
export function resolveInterface(iface: InterfaceRef): number {
  if (typeof iface === "number") {
    if (!Number.isInteger(iface) || iface <= 0) throw new LoaderError(`interface index ${iface} is not a positive integer`);
    return iface;
  }
  try {
    return interfaceIndex(iface);
  } catch (error) {
    throw new LoaderError(`no network interface named ${iface} here`, { cause: error });
  }
}

const XDP_MODE_FLAGS: Readonly<Record<XdpMode, number>> = {
  native: XdpFlag.DRV_MODE,
  generic: XdpFlag.SKB_MODE,
  offload: XdpFlag.HW_MODE,
};

/** XDP through a link; without a mode the kernel picks native when the driver supports it. */
export function attachXdp(program: AttachableProgram, iface: InterfaceRef, mode: XdpMode | undefined): AttachedParts {
  const ifindex = resolveInterface(iface);
  const description = `xdp on ${iface}${mode ? ` (${mode})` : ""}`;
  const linkFd = linkCreate(
    { progFd: program.fd, attachType: AttachType.xdp, target: ifindex, flags: mode ? XDP_MODE_FLAGS[mode] : 0 },
    `program ${program.name}: ${description}`,
  );
  return { description, linkFd, fds: [linkFd] };
}

/** tc through a tcx link (Linux 6.6+), appended after programs already attached. */
export function attachTc(program: AttachableProgram, iface: InterfaceRef, direction: "ingress" | "egress"): AttachedParts {
  const ifindex = resolveInterface(iface);
  const description = `tc ${direction} on ${iface}`;
  const linkFd = linkCreate(
    { progFd: program.fd, attachType: direction === "ingress" ? AttachType.tcx_ingress : AttachType.tcx_egress, target: ifindex },
    `program ${program.name}: ${description} (tcx link)`,
  );
  return { description, linkFd, fds: [linkFd] };
}

/**
 * `struct sockaddr_ll` (20 bytes): family u16 | protocol be16 | ifindex s32 | hatype u16 |
 * pkttype u8 | halen u8 | addr[8].
 */
function packetAddress(ifindex: number): Uint8Array {
  const address = new Uint8Array(20);
  const view = new DataView(address.buffer);
  view.setUint16(0, Os.AF_PACKET, true);
  view.setUint16(2, Os.ETH_P_ALL, false);
  view.setInt32(4, ifindex, true);
  return address;
}

/**
 * A socket filter on a non-blocking AF_PACKET socket bound to `iface`: the program sees every
 * frame of the interface from its Ethernet header and decides what the socket receives.
 */
export function attachSocket(program: AttachableProgram, iface: InterfaceRef): AttachedParts {
  const ifindex = resolveInterface(iface);
  const description = `socket filter on ${iface}`;
  const context = `program ${program.name}: ${description}`;
  const fd = socket(Os.AF_PACKET, Os.SOCK_RAW | Os.SOCK_NONBLOCK, 0, context);
  try {
    setsockoptInt(fd, Os.SOL_SOCKET, Os.SO_ATTACH_BPF, program.fd, context);
    bind(fd, packetAddress(ifindex), context);
  } catch (error) {
    closeDescriptors([fd]);
    throw error;
  }
  return { description, socketFd: fd, fds: [fd] };
}
