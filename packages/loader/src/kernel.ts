// Probing whether this process can use bpf(2), and the policy tests follow when it cannot:
// skip locally, fail in CI. The probe creates (and closes) the smallest possible array map,
// which needs the same privilege as everything else the loader does, without loading a program.
import { MapType } from "@luabpf/platform";
import { close, mapCreate } from "./syscall.js";

/** Whether bpf(2) works here, and why not when it does not. */
export type BpfAvailability = { ok: true } | { ok: false; reason: string };

let cached: BpfAvailability | undefined;

/**
 * Tries a tiny BPF_MAP_CREATE (array, 4-byte key and value, one entry). The answer is
 * cached for the life of the process.
 */
export function bpfAvailable(): BpfAvailability {
  if (cached) return cached;
  try {
    const fd = mapCreate({ type: MapType.array, keySize: 4, valueSize: 4, maxEntries: 1, name: "luabpf_probe" });
    close(fd);
    cached = { ok: true };
  } catch (error) {
    cached = { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  return cached;
}

/** Name of the environment variable that turns a missing kernel into a test failure. */
export const REQUIRE_KERNEL_ENV = "LUABPF_REQUIRE_KERNEL";

/** Inputs of {@link kernelOrSkip}, replaceable so the policy itself can be tested. */
export interface KernelOrSkipOptions {
  /** Default {@link bpfAvailable}. */
  probe?: () => BpfAvailability;
  /** Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * For test files: true when bpf(2) works, so kernel tests run; false when it does not, so
 * they can be skipped with `describe.skipIf(!kernel)`. When the environment sets
 * `LUABPF_REQUIRE_KERNEL=1` (CI does), a missing kernel throws instead, so a CI run cannot
 * pass by skipping every kernel test.
 *
 * @throws Error when bpf(2) does not work and `LUABPF_REQUIRE_KERNEL=1`
 */
export function kernelOrSkip(options: KernelOrSkipOptions = {}): boolean {
  const availability = (options.probe ?? bpfAvailable)();
  if (availability.ok) return true;
  const env = options.env ?? process.env;
  if (env[REQUIRE_KERNEL_ENV] === "1") {
    throw new Error(
      `${REQUIRE_KERNEL_ENV}=1 requires working bpf(2), but it is unavailable: ${availability.reason}. ` +
        "Run as root (or with CAP_BPF and CAP_NET_ADMIN) on Linux, or unset the variable to skip kernel tests.",
    );
  }
  return false;
}
