#!/usr/bin/env node
// `npm start`: compiles a bundled example, prints its eBPF assembly, writes the object,
// and where the kernel allows, runs it on sample packets and shows the counts.
import { main } from "../packages/cli/dist/main.js";
import { bpfAvailable } from "../packages/loader/dist/index.js";

const io = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };
const example = "examples/proto-count.lua";
const steps = [
  ["compile", example, "--emit", "asm"],
  ["compile", example, "-o", "examples/proto-count.o"],
];
for (const args of steps) {
  process.stdout.write(`\n$ luabpf ${args.join(" ")}\n`);
  const code = await main(args, io);
  if (code !== 0) process.exit(code);
}
process.stdout.write("\nwrote examples/proto-count.o (load it with bpftool prog loadall or `luabpf run`)\n");
const kernel = bpfAvailable();
if (!kernel.ok) {
  process.stdout.write(`\nnot running it: bpf(2) is unavailable here (${kernel.reason})\n`);
} else {
  for (const packet of ["tcp,dport=80", "udp,dport=53"]) {
    const args = ["run", example, "--packet", packet, "--repeat", "3"];
    process.stdout.write(`\n$ luabpf ${args.join(" ")}\n`);
    const code = await main(args, io);
    if (code !== 0) process.exit(code);
  }
}
