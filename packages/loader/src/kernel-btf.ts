// The running kernel's BTF (/sys/kernel/btf/vmlinux), for tracing programs: fentry/fexit and
// tp_btf programs are loaded with `attach_btf_id`, the id of the kernel function (or of the
// `btf_trace_<tracepoint>` typedef) they attach to. Ids are positions in vmlinux's type list.
//
// Cost: ids are looked up in the lazily indexed BTF of core.ts (no decoding of the table);
// vmlinuxBtf() decodes all of it (~5 MB, ~125k types: most of a second), once per process.
import { readFileSync } from "node:fs";
import { decodeBtf, type BtfTable } from "@luabpf/elf";
import { runningKernelBtf } from "./core.js";
import { LoaderError } from "./errors.js";

const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";

let table: BtfTable | undefined;

/** The decoded vmlinux BTF (cached for the life of the process). */
export function vmlinuxBtf(): BtfTable {
  if (table) return table;
  let bytes: Buffer;
  try {
    bytes = readFileSync(VMLINUX_BTF);
  } catch (error) {
    throw new LoaderError(`cannot read ${VMLINUX_BTF} (a kernel built with CONFIG_DEBUG_INFO_BTF is needed for tracing programs)`, {
      cause: error,
    });
  }
  table = decodeBtf(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return table;
}

/**
 * The id of the vmlinux BTF type of `kind` named `name` (the first one, as libbpf's
 * btf__find_by_name_kind), or undefined. Looked up in the lazily indexed BTF of core.ts
 * (a few milliseconds; the table is not decoded).
 */
export function vmlinuxTypeId(kind: "func" | "typedef" | "struct", name: string): number | undefined {
  return runningKernelBtf().find(kind, name)?.id;
}
