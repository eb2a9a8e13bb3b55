// The running kernel's BTF (/sys/kernel/btf/vmlinux), for tracing programs: fentry/fexit and
// tp_btf programs are loaded with `attach_btf_id`, the id of the kernel function (or of the
// `btf_trace_<tracepoint>` typedef) they attach to. Ids are positions in vmlinux's type list.
//
// Cost: decoding vmlinux BTF (~5 MB, ~125k types) takes most of a second, so it is done once per
// process, on first use, and the name index is built once from the decoded table.
import { readFileSync } from "node:fs";
import { decodeBtf, type BtfTable } from "@luabpf/elf";
import { LoaderError } from "./errors.js";

const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";

let table: BtfTable | undefined;
let index: Map<string, number> | undefined;

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
 * btf__find_by_name_kind), or undefined.
 */
export function vmlinuxTypeId(kind: "func" | "typedef" | "struct", name: string): number | undefined {
  if (!index) {
    index = new Map();
    const types = vmlinuxBtf().types;
    for (let id = 1; id < types.length; id++) {
      const type = types[id]!;
      if (type.kind !== "func" && type.kind !== "typedef" && type.kind !== "struct") continue;
      const key = `${type.kind} ${type.name}`;
      if (!index.has(key)) index.set(key, id);
    }
  }
  return index.get(`${kind} ${name}`);
}
