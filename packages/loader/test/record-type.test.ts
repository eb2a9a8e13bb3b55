// A ring buffer's record type written by the elf writer (ObjectMap.record: the type plus a
// `luabpf.record=<type>` decl tag on the map's VAR) is what the loader finds for it.
import { btfInt, readObjectBtf, writeObject, type BpfObject, type BtfType } from "@luabpf/elf";
import { MAP_TYPES } from "@luabpf/platform";
import { describe, expect, it } from "vitest";
import { recordTypeOf } from "../src/index.js";

const u32 = btfInt("unsigned int", 4, false);

function objectWith(record: BtfType): BpfObject {
  return {
    license: "GPL",
    programs: [{ name: "p", section: "raw_tp/sys_enter", code: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), relocations: [] }],
    maps: [
      { name: "events", type: MAP_TYPES.ringbuf.id, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0, record },
      { name: "other", type: MAP_TYPES.ringbuf.id, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 },
    ],
  };
}

describe("record types of ring buffers", () => {
  it("a named struct is found by its tag", () => {
    const event: BtfType = { kind: "struct", name: "event", size: 8, members: [{ name: "pid", type: u32, bitOffset: 0 }, { name: "n", type: u32, bitOffset: 32 }] };
    const types = readObjectBtf(writeObject(objectWith(event)))!.types;
    expect(recordTypeOf(types, "events")).toMatchObject({ kind: "struct", name: "event", size: 8 });
    expect(recordTypeOf(types, "other")).toBeUndefined();
  });

  it("an anonymous struct gets a typedef named after the map", () => {
    const anonymous: BtfType = { kind: "struct", name: "", size: 4, members: [{ name: "pid", type: u32, bitOffset: 0 }] };
    const types = readObjectBtf(writeObject(objectWith(anonymous)))!.types;
    expect(recordTypeOf(types, "events")).toMatchObject({ kind: "typedef", name: "events_record" });
  });
});
