/**
 * The command line of the check scripts (`npm run difftest|fuzz|superopt -- ...`): `--help`
 * (or `-h`) prints the script's usage, and a mistake (an unknown option, a missing value)
 * is one `name: error: ...` line and the usage on stderr with exit status 2 — as the
 * `luabpf` command does, never a stack trace.
 */
export function parseCommandLine<T>(name: string, usage: string, parse: () => T): T {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  try {
    return parse();
  } catch (e) {
    process.stderr.write(`${name}: error: ${e instanceof Error ? e.message : String(e)}\nusage: ${usage}\n`);
    process.exit(2);
  }
}
