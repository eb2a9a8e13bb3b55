/**
 * @luabpf/test-support — test helpers shared by the packages' tests (private, never
 * published):
 *
 * - random program generators reading a choice {@link Tape} (fast-check shrinks the tape,
 *   which shrinks the program):
 *   - gen-module.ts `arbitraryModule`/`buildModule`: structurally valid modules using every
 *     opcode, type, map kind and struct shape (not executable) — the printer/parser round trip;
 *   - gen-program.ts `buildProgram`/`tapeArb`/`inputArb`: executable, verifier-clean functions
 *     for differential tests of the passes against the interpreter;
 *   - gen-ir.ts `genProgram`: executable `tc` programs under register pressure for the
 *     backend (interpreter vs VM vs kernel);
 * - filecheck.ts `fileCheck`: FileCheck at LLVM FileCheck's level; filetest.ts `runFileTest`:
 *   file tests (`; run:` lines through a given `luabpf opt` runner, `; exec:` lines, bless);
 * - fixtures.ts `diamond`, `countingLoop`, `summingLoop`: small IR functions; random-cfg.ts
 *   `cfg`/`arbCfg`/`arbValidCfg`/`addEdgePhis`: random control-flow graphs for analyses;
 * - errors.ts `catchError`;
 * - kernel-fixtures.ts: network namespaces joined by a veth pair (`VethPair`), UDP senders and
 *   receivers, clang-built BPF objects (`compileBpfC`), cc-built binaries, tracefs, descriptor
 *   counts and `bpftool link` ids, for the kernel attach tests of loader and cli.
 *
 * Imported from tests only; the packages under test stay free of it.
 *
 * @packageDocumentation
 */
export * from "./tape.js";
export * from "./errors.js";
export * from "./fixtures.js";
export * from "./random-cfg.js";
export * from "./filecheck.js";
export * from "./filetest.js";
export * from "./gen-module.js";
export * from "./gen-program.js";
export * from "./gen-ir.js";
export * from "./kernel-fixtures.js";
