// The top level's library globals get their cells on first lookup (GlobalEnv); each must read
// as the eager frame did, where every one was made at the start, in the list's order.
import { describe, expect, it } from "vitest";
import { LIBRARY_GLOBALS } from "../src/toplevel/library.js";
import { Cell, Clock, Env, GlobalEnv, lookupClosure } from "../src/values.js";

describe("library globals made on first use", () => {
  it("read at every time as the cells made eagerly, in order, would", () => {
    const { map, count } = LIBRARY_GLOBALS();
    // The eager frame: a cell per list entry, ticking the clock (a later entry of a name wins).
    const names = [...map].sort((a, b) => a[1].index - b[1].index);
    const eager = new Env(undefined);
    const clock = new Clock();
    for (let i = 0; i < count; i++) {
      const entry = names.find(([, g]) => g.index === i);
      if (entry) eager.cells.set(entry[0], new Cell(entry[0], entry[1].value("t.lua"), clock));
      else clock.tick(); // an entry overridden by a later one of the same name
    }
    expect(clock.now).toBe(count);
    const lazy = new GlobalEnv(map, "t.lua");
    for (const [name] of names) {
      for (let t = 0; t <= count + 1; t++) {
        expect(lookupClosure({ env: lazy, time: t }, name)).toEqual(lookupClosure({ env: eager, time: t }, name));
      }
    }
    expect(lazy.lookup("no_such_global")).toBeUndefined();
    expect(lazy.own("print")).toBe(lazy.own("print"));
  });

  it("lists print twice (its later entry stands), arg per file", () => {
    const { map, count } = LIBRARY_GLOBALS();
    expect(map.size).toBe(count - 1);
    const arg = new GlobalEnv(map, "x.lua").own("arg")!.current;
    expect(arg.kind === "table" && arg.table).toBeTruthy();
    expect(new GlobalEnv(map, "x.lua").own("arg")!.current).not.toBe(arg);
  });
});
