/**
 * The `luabpf` command line. Keeps start-up small: only argument parsing happens before
 * the command's modules are imported. Library code throws; only this file exits.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const USAGE = `usage:
  luabpf compile FILE.lua [-o FILE.o] [--emit obj|asm|ir] [-O0|-O1|-O2] [--passes LIST]
                 [--print-after-all] [--print-after NAME] [--stats]
  luabpf run FILE.lua|FILE.o [--packet SPEC] [--repeat N]
  luabpf --help | --version

  --emit asm   print the eBPF assembly (llvm-objdump -d syntax) instead of writing an object
  --emit ir    print the IR that reaches code generation
  --packet     test packet, e.g. tcp,dport=80  udp,sport=53  icmp  tcp,src=10.0.0.1,len=200
`;

class UsageError extends Error {}

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

interface Parsed {
  command: string;
  input?: string;
  output?: string;
  emit: "obj" | "asm" | "ir";
  optLevel: 0 | 1 | 2;
  passes?: string;
  printAfterAll: boolean;
  printAfter: string[];
  stats: boolean;
  packet: string;
  repeat: number;
}

function parseArgs(argv: readonly string[]): Parsed {
  const p: Parsed = { command: "", emit: "obj", optLevel: 2, printAfterAll: false, printAfter: [], stats: false, packet: "tcp,dport=80", repeat: 1 };
  const rest = [...argv];
  const value = (flag: string): string => {
    const v = rest.shift();
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  while (rest.length > 0) {
    const a = rest.shift()!;
    if (a === "-o") p.output = value(a);
    else if (a === "--emit") {
      const e = value(a);
      if (e !== "obj" && e !== "asm" && e !== "ir") throw new UsageError(`--emit takes obj, asm or ir, not '${e}'`);
      p.emit = e;
    } else if (/^-O[012]$/.test(a)) p.optLevel = Number(a[2]) as 0 | 1 | 2;
    else if (a === "--passes") p.passes = value(a);
    else if (a === "--print-after-all") p.printAfterAll = true;
    else if (a === "--print-after") p.printAfter.push(value(a));
    else if (a === "--stats") p.stats = true;
    else if (a === "--packet") p.packet = value(a);
    else if (a === "--repeat") {
      const n = Number(value(a));
      if (!Number.isInteger(n) || n < 1) throw new UsageError("--repeat takes a positive integer");
      p.repeat = n;
    } else if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
    else if (!p.command) p.command = a;
    else if (!p.input) p.input = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  return p;
}

function readSource(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Writes through a temporary file and a rename, so a failed run leaves no partial output. */
function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    throw new UsageError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function compileCommand(p: Parsed, io: CliIo, sources: Map<string, string>): Promise<void> {
  if (!p.input) throw new UsageError("compile needs an input file");
  const source = readSource(p.input);
  sources.set(p.input, source);
  const driver = await import("./driver.js");
  const result = driver.compileSource(source, {
    file: p.input,
    optLevel: p.optLevel,
    passes: p.passes,
    printAfterAll: p.printAfterAll,
    printAfter: p.printAfter,
    log: io.stderr,
    keepIr: p.emit === "ir",
  });
  if (p.stats) io.stderr(driver.formatStats(result));
  if (p.emit === "ir") return io.stdout(result.ir ?? "");
  if (p.emit === "asm") {
    const asm = driver.formatAssembly(basename(p.output ?? p.input.replace(/\.lua$/, "") + ".o"), result.programs);
    if (p.output) return writeAtomically(p.output, new TextEncoder().encode(asm));
    return io.stdout(asm);
  }
  const { writeObject } = await import("@luabpf/elf");
  const out = p.output ?? p.input.replace(/\.lua$/, "") + ".o";
  writeAtomically(out, writeObject(result.object));
}

async function runCommand(p: Parsed, io: CliIo, sources: Map<string, string>): Promise<number> {
  if (!p.input) throw new UsageError("run needs an input file (.lua or .o)");
  const run = await import("./run.js");
  let object;
  if (p.input.endsWith(".o")) {
    const { readObject } = await import("@luabpf/elf");
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(p.input);
    } catch (e) {
      throw new UsageError(`cannot read ${p.input}: ${(e as NodeJS.ErrnoException).code}`);
    }
    object = readObject(bytes);
  } else {
    const source = readSource(p.input);
    sources.set(p.input, source);
    const driver = await import("./driver.js");
    object = driver.compileSource(source, { file: p.input, optLevel: p.optLevel, passes: p.passes }).object;
  }
  return run.runObject(object, { packet: p.packet, repeat: p.repeat }, io);
}

/** Runs the command line; returns the exit status. Never throws. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const sources = new Map<string, string>();
  try {
    if (argv.includes("--help") || argv.includes("-h") || argv.length === 0) {
      io.stdout(USAGE);
      return argv.length === 0 ? 1 : 0;
    }
    if (argv.includes("--version")) {
      const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
      io.stdout(`luabpf ${pkg.version}\n`);
      return 0;
    }
    const p = parseArgs(argv);
    switch (p.command) {
      case "compile":
        await compileCommand(p, io, sources);
        return 0;
      case "run":
        return await runCommand(p, io, sources);
      default:
        throw new UsageError(p.command ? `unknown command '${p.command}'` : "no command given");
    }
  } catch (e) {
    return report(e, io, sources);
  }
}

async function report(e: unknown, io: CliIo, sources: Map<string, string>): Promise<number> {
  const err = e as Error & { diagnostics?: unknown; name?: string };
  if (e instanceof UsageError) {
    io.stderr(`luabpf: error: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (err?.name === "CompileError" && Array.isArray(err.diagnostics)) {
    const { renderDiagnostic } = await import("./diagnostics.js");
    for (const d of err.diagnostics) io.stderr(renderDiagnostic(d, sources) + "\n");
    return 1;
  }
  if (err?.name === "VerifierError" || err?.name === "BpfError" || err?.name === "LoaderError" || err?.name === "ElfError" || err?.name === "PacketSpecError") {
    io.stderr(`luabpf: error: ${err.message}\n`);
    return 1;
  }
  if (err?.name === "InternalError") {
    io.stderr(`luabpf: ${err.message}\n`);
    return 70;
  }
  io.stderr(`luabpf: internal error: ${err?.message ?? String(e)} (this is a bug in luabpf; please report it with the input that caused it)\n`);
  if (process.env.LUABPF_DEBUG) io.stderr(`${err?.stack}\n`);
  return 70;
}

const isEntry = process.argv[1] !== undefined && /luabpf(\.js)?$|main\.(js|ts)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2), { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) }).then((code) => {
    process.exitCode = code;
  });
}
