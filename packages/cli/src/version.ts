/** The version of luabpf, from the cli package's package.json (read once, when asked). */
import { readFileSync } from "node:fs";

/**
 * The version, written into the command's bundle by scripts/bundle-cli.js (esbuild's
 * `define`), which then need not read package.json at start-up; undefined in the modules.
 */
declare const LUABPF_BUNDLED_VERSION: string | undefined;

let cached: string | undefined;

/** `0.1.0`: what `luabpf --version` prints and objects record as their DWARF producer. */
export function luabpfVersion(): string {
  cached ??=
    typeof LUABPF_BUNDLED_VERSION === "string"
      ? LUABPF_BUNDLED_VERSION
      : (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return cached;
}
