// Kernel tests of program loading and BPF_PROG_TEST_RUN with hand-encoded programs, and of
// what the kernel hands each program type as its packet.
//
// Observed test-run packet semantics (Linux 6.18, net/bpf/test_run.c):
// - socket filter: the skb starts at the network header. eth_type_trans() consumes the 14-byte
//   Ethernet header, so skb->len is the frame length − 14 and LD_ABS offset 0 reads the first
//   IPv4 byte (0x45). data_out has the frame's length, but its first 14 bytes are zero: the
//   kernel pushes header room back without the original MAC addresses and EtherType.
// - sched_cls (tc): the skb starts at the MAC header: skb->len is the whole frame and LD_ABS
//   offset 0 reads the first destination MAC byte.
// - XDP: the program sees the whole frame; XDP_PASS leaves data_out equal to the input.
// Every network test run needs at least 14 bytes of input (an Ethernet header).
import { catchError } from "@luabpf/test-support";
import { ProgramType } from "@luabpf/platform";
import { describe, expect, it } from "vitest";
import {
  BpfError,
  VerifierError,
  buildPacket,
  close,
  kernelOrSkip,
  progLoad,
  progTestRun,
} from "../src/index.js";
import { R0, R1, R2, R6, exit, ldAbsB, ldxw, movImm, movReg, program } from "./asm.js";

const kernel = kernelOrSkip();

/** r0 = skb->len (struct __sk_buff starts with `__u32 len`); exit. */
const SKB_LEN = program(ldxw(R0, R1, 0), exit());
/** r6 = ctx; r0 = first byte of skb data (legacy LD_ABS); exit. */
const FIRST_BYTE = program(movReg(R6, R1), ldAbsB(0), exit());
const XDP_PASS = 2;

function withProgram<T>(options: Parameters<typeof progLoad>[0], body: (fd: number) => T): T {
  const fd = progLoad(options);
  try {
    return body(fd);
  } finally {
    close(fd);
  }
}

describe.skipIf(!kernel)("programs on the kernel", () => {
  const packet = buildPacket("tcp,dport=80,len=120");

  it("socket filter: skb->len is the frame length minus the Ethernet header", () => {
    withProgram({ type: ProgramType.socket_filter, insns: SKB_LEN, license: "GPL", name: "skb_len" }, (fd) => {
      const result = progTestRun(fd, { data: packet, repeat: 1 });
      expect(packet.length).toBe(120);
      expect(result.retval).toBe(packet.length - 14);
      expect([...result.dataOut.subarray(0, 14)]).toEqual(new Array(14).fill(0));
      expect([...result.dataOut.subarray(14)]).toEqual([...packet.subarray(14)]);
      expect(result.duration).toBeGreaterThanOrEqual(0);
    });
    for (const spec of ["udp,sport=53,dport=1000", "icmp", "tcp,len=1400"]) {
      const other = buildPacket(spec);
      withProgram({ type: ProgramType.socket_filter, insns: SKB_LEN, license: "GPL" }, (fd) => {
        expect(progTestRun(fd, { data: other }).retval).toBe(other.length - 14);
      });
    }
  });

  it("socket filter: packet data starts at the IPv4 header", () => {
    withProgram({ type: ProgramType.socket_filter, insns: FIRST_BYTE, license: "GPL" }, (fd) => {
      expect(progTestRun(fd, { data: packet }).retval).toBe(0x45);
    });
  });

  it("sched_cls: skb->len is the whole frame and data starts at the MAC header", () => {
    withProgram({ type: ProgramType.sched_cls, insns: SKB_LEN, license: "GPL", name: "tc_len" }, (fd) => {
      const result = progTestRun(fd, { data: packet, repeat: 3 });
      expect(result.retval).toBe(packet.length);
      expect([...result.dataOut]).toEqual([...packet]);
    });
    withProgram({ type: ProgramType.sched_cls, insns: FIRST_BYTE, license: "GPL" }, (fd) => {
      expect(progTestRun(fd, { data: packet }).retval).toBe(packet[0]);
    });
  });

  it("xdp: returns XDP_PASS and leaves the packet unchanged", () => {
    withProgram({ type: ProgramType.xdp, insns: program(movImm(R0, XDP_PASS), exit()), license: "GPL", name: "pass" }, (fd) => {
      const result = progTestRun(fd, { data: packet, repeat: 10 });
      expect(result.retval).toBe(XDP_PASS);
      expect([...result.dataOut]).toEqual([...packet]);
    });
  });

  it("retval is reported as an unsigned 32-bit number", () => {
    withProgram({ type: ProgramType.socket_filter, insns: program(movImm(R0, -1), exit()), license: "GPL" }, (fd) => {
      expect(progTestRun(fd, { data: packet }).retval).toBe(0xffffffff);
    });
  });

  it("loads a kprobe program and a tracepoint program (load only)", () => {
    const returnZero = program(movImm(R0, 0), exit());
    withProgram({ type: ProgramType.kprobe, insns: returnZero, license: "GPL", name: "do_nanosleep" }, (fd) => {
      expect(fd).toBeGreaterThan(2);
    });
    withProgram({ type: ProgramType.tracepoint, insns: returnZero, license: "GPL", name: "tp" }, (fd) => {
      expect(fd).toBeGreaterThan(2);
    });
  });

  it("exit without setting r0: VerifierError quoting 'R0 !read_ok'", () => {
    const error = catchError(() => progLoad({ type: ProgramType.socket_filter, insns: exit(), license: "GPL", name: "no_r0" }));
    expect(error).toBeInstanceOf(VerifierError);
    const verifierError = error as VerifierError;
    expect(verifierError.log).toContain("R0 !read_ok");
    expect(verifierError.message).toContain("R0 !read_ok");
    expect(verifierError.message).toMatch(/^program no_r0: BPF_PROG_LOAD failed: EACCES/);
    expect(verifierError.code).toBe("EACCES");
  });

  it("reading an uninitialised register: VerifierError quoting 'R2 !read_ok'", () => {
    const insns = program(movReg(R0, R2), exit());
    const error = catchError(() => progLoad({ type: ProgramType.xdp, insns, license: "GPL" }));
    expect(error).toBeInstanceOf(VerifierError);
    expect((error as VerifierError).message).toContain("R2 !read_ok");
  });

  it("log level 2 still loads a valid program (the log is collected, not an error)", () => {
    withProgram({ type: ProgramType.xdp, insns: program(movImm(R0, XDP_PASS), exit()), license: "GPL", logLevel: 2, logSize: 128 }, (fd) => {
      expect(progTestRun(fd, { data: packet }).retval).toBe(XDP_PASS);
    });
  });

  it("a verifier log larger than the initial buffer is retried with the size the kernel reports", () => {
    // 40 moves then an exit without r0: the level-2 log lists every instruction's state.
    const insns = program(...Array.from({ length: 40 }, (_, i) => movImm(R2, i)), exit());
    const error = catchError(() => progLoad({ type: ProgramType.xdp, insns, license: "GPL", logLevel: 2, logSize: 128 }));
    expect(error).toBeInstanceOf(VerifierError);
    const log = (error as VerifierError).log;
    expect(log.length).toBeGreaterThan(128);
    expect(log.startsWith("func#0 @0")).toBe(true); // the head survived: the whole log was returned
    expect(log).toContain("R0 !read_ok");
  });

  it("a refusal without a verifier log is a plain BpfError", () => {
    const error = catchError(() => progLoad({ type: 9999, insns: program(movImm(R0, 0), exit()), license: "GPL" }));
    expect(error).toBeInstanceOf(BpfError);
    expect(error).not.toBeInstanceOf(VerifierError);
    expect(error).toMatchObject({ code: "EINVAL", command: "BPF_PROG_LOAD" });
  });

  it("rejects code that is not whole instructions before calling the kernel", () => {
    expect(() => progLoad({ type: ProgramType.xdp, insns: new Uint8Array(12), license: "GPL" })).toThrow(RangeError);
    expect(() => progLoad({ type: ProgramType.xdp, insns: new Uint8Array(0), license: "GPL" })).toThrow(RangeError);
  });

  it("test run on a packet shorter than an Ethernet header fails with EINVAL", () => {
    withProgram({ type: ProgramType.xdp, insns: program(movImm(R0, XDP_PASS), exit()), license: "GPL" }, (fd) => {
      expect(catchError(() => progTestRun(fd, { data: new Uint8Array(10) }))).toMatchObject({
        code: "EINVAL",
        command: "BPF_PROG_TEST_RUN",
      });
    });
  });
});

