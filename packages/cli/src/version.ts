/** The version of luabpf, from the cli package's package.json (read once, when asked). */
import { readFileSync } from "node:fs";

let cached: string | undefined;

/** `0.1.0`: what `luabpf --version` prints and objects record as their DWARF producer. */
export function luabpfVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return cached;
}
