// Kernel tests of the network hooks, each in two network namespaces the test creates and joined
// by a veth pair (never the host's interfaces): XDP dropping UDP to one port, tc counting and
// shooting, a socket filter that lets one end see only what it filters. Traffic is sent from
// namespace A to B by the test; both sides are counted (what arrived at B's sockets, what the
// program counted). After detaching, the link is gone from `bpftool link` and `bpftool net`
// in the namespace shows nothing attached.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  LoaderError,
  attach,
  kernelOrSkip,
  linkInfo,
  loadObjectFile,
  typedMap,
  type LoadedObject,
  type XdpMode,
} from "../src/index.js";
import {
  VethPair,
  bpftoolLinkIds,
  compileBpfC,
  drainSocket,
  hasTool,
  openDescriptorCount,
  sendUdp,
  sleep,
  udpReceiver,
} from "@luabpf/test-support";
import { closeSync } from "node:fs";

const kernel = kernelOrSkip();
const C_DIR = new URL("./c/", import.meta.url);
const tools = ["clang-16", "ip", "bpftool"].filter((tool) => !hasTool(tool));
if (kernel && tools.length > 0 && process.env.CI) throw new Error(`network attach tests need ${tools.join(", ")}`);

const TARGET_PORT = 7001;
const OTHER_PORT = 7002;

/** Waits until `count()` reaches `expected` (at most 3 s) and returns the last value. */
async function settle(count: () => number, expected: number): Promise<number> {
  let value = count();
  for (let waited = 0; value < expected && waited < 3000; waited += 20) {
    await sleep(20);
    value = count();
  }
  return value;
}

describe.skipIf(!kernel || tools.length > 0)("network hooks on a veth pair in private namespaces", () => {
  let pair: VethPair;
  let object: LoadedObject;
  let descriptorsBefore: number;

  beforeEach(() => {
    descriptorsBefore = openDescriptorCount();
    pair = new VethPair();
    object = loadObjectFile(compileBpfC(C_DIR, "net_udp"));
    typedMap(object.maps.get("config")!).set(0, TARGET_PORT);
  });

  afterEach(() => {
    object.close();
    pair.dispose();
    // Every descriptor the test opened (sockets, links, maps, programs, namespaces) is closed.
    expect(openDescriptorCount()).toBe(descriptorsBefore);
  });

  const hits = () => {
    const map = typedMap(object.maps.get("hits")!);
    return { target: Number(map.get(0)), other: Number(map.get(1)) };
  };

  /** Receivers on both ports in B; sends `target` then `other` datagrams from A; counts arrivals. */
  async function exchange(target: number, other: number): Promise<{ target: number; other: number }> {
    const [rxTarget, rxOther] = pair.within(pair.nsB, () => [udpReceiver(pair.ipB, TARGET_PORT), udpReceiver(pair.ipB, OTHER_PORT)]);
    try {
      pair.within(pair.nsA, () => {
        sendUdp(pair.ipB, TARGET_PORT, target);
        sendUdp(pair.ipB, OTHER_PORT, other);
      });
      // Datagrams cross the veth in order, so once every `other` one is in, the `target` ones
      // that were not dropped are in too.
      let arrivedOther = 0;
      let arrivedTarget = 0;
      arrivedOther = await settle(() => (arrivedOther += drainSocket(rxOther).length), other);
      arrivedTarget = drainSocket(rxTarget).length;
      return { target: arrivedTarget, other: arrivedOther };
    } finally {
      closeSync(rxTarget);
      closeSync(rxOther);
    }
  }

  it.each<XdpMode>(["native", "generic"])("xdp (%s) drops UDP to one port and passes the rest", async (mode) => {
    const program = object.programs.get("xdp_drop_port")!;
    const attachment = pair.within(pair.nsB, () => attach(program, { kind: "xdp", iface: pair.ifB, mode }));
    const linkId = linkInfo(attachment.linkFd!).id;
    expect(bpftoolLinkIds()).toContain(linkId);
    expect(pair.bpftoolNet(pair.nsB)[0]!.xdp).toHaveLength(1);

    const arrived = await exchange(10, 7);
    expect(arrived).toEqual({ target: 0, other: 7 });
    expect(hits().target).toBe(10);
    expect(hits().other).toBeGreaterThanOrEqual(7);

    attachment.close();
    expect(bpftoolLinkIds()).not.toContain(linkId);
    expect(pair.bpftoolNet(pair.nsB)[0]!.xdp).toEqual([]);
    // Detached: the port is reachable again and the program no longer counts.
    expect(await exchange(3, 1)).toEqual({ target: 3, other: 1 });
    expect(hits().target).toBe(10);
  });

  it("tc (tcx link, ingress) counts and shoots UDP to one port", async () => {
    const program = object.programs.get("tc_shoot_port")!;
    const attachment = pair.within(pair.nsB, () => attach(program, { kind: "tc", iface: pair.ifB, direction: "ingress" }));
    const linkId = linkInfo(attachment.linkFd!).id;
    expect(bpftoolLinkIds()).toContain(linkId);

    const arrived = await exchange(6, 4);
    expect(arrived).toEqual({ target: 0, other: 4 });
    expect(hits().target).toBe(6);
    expect(hits().other).toBeGreaterThanOrEqual(4);

    attachment.close();
    // The link id leaving `bpftool link` is what proves the tcx detach (bpftool 7.1, Debian's,
    // does not list tcx links under `bpftool net`); `bpftool net` proves no netlink tc filter.
    expect(bpftoolLinkIds()).not.toContain(linkId);
    const net = pair.bpftoolNet(pair.nsB)[0]!;
    expect(net.tc).toEqual([]);
    expect(await exchange(2, 1)).toEqual({ target: 2, other: 1 });
    expect(hits().target).toBe(6);
  });

  it("a socket filter on one end sees only the UDP port it filters", async () => {
    const program = object.programs.get("socket_keep_port")!;
    const attachment = pair.within(pair.nsB, () => attach(program, { kind: "socket", iface: pair.ifB }));
    expect(attachment.linkFd).toBeUndefined();
    const packetSocket = attachment.socketFd!;

    const arrived = await exchange(5, 9);
    // The filter decides only what its own socket receives: the UDP sockets get everything.
    expect(arrived).toEqual({ target: 5, other: 9 });
    const frames = drainSocket(packetSocket);
    expect(frames).toHaveLength(5);
    for (const frame of frames) {
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      expect(view.getUint16(12)).toBe(0x0800); // IPv4, seen from the Ethernet header
      expect(frame[14 + 9]).toBe(17); // UDP
      expect(view.getUint16(14 + 20 + 2)).toBe(TARGET_PORT);
    }
    expect(hits().target).toBe(5);
    expect(hits().other).toBeGreaterThanOrEqual(9);

    attachment.close();
    expect(() => drainSocket(packetSocket)).toThrow(/EBADF/);
  });

  it("an interface that does not exist is a LoaderError and leaves nothing open", () => {
    const program = object.programs.get("xdp_drop_port")!;
    const before = openDescriptorCount();
    expect(() => pair.within(pair.nsB, () => attach(program, { kind: "xdp", iface: "no-such-if0" }))).toThrow(LoaderError);
    expect(() => attach(program, { kind: "tc", iface: pair.ifB, direction: "ingress" })).toThrow(/no network interface named/);
    expect(openDescriptorCount()).toBe(before);
  });
});
