/**
 * `luabpf run` without `--packet`: load an object, attach every program to the hook its
 * section names, print events as they arrive and the maps at exit (and every `--interval`),
 * until Ctrl-C / SIGTERM, `--duration`, or the end of the command given after `--`.
 *
 * Lifecycle, and why in this order:
 *   load → attach every program (all or nothing: a failure detaches what was attached) →
 *   pin (`--pin DIR`) → open event readers → run → detach → drain the readers (records
 *   written before detaching are still shown) → print lost counts and the maps (final values,
 *   nothing can change them any more) → remove the pins → close the object.
 * Every exit path (a signal, the duration, the command ending, an error while running) goes
 * through the same `finally`, so nothing stays attached or pinned. A process killed with
 * SIGKILL loses its descriptors, and the kernel detaches its links; only `--pin` pins would
 * remain then.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { BpfObject, BtfType } from "@luabpf/elf";
import { MapType, mapTypeById } from "@luabpf/platform";
import { isLuabpfError } from "@luabpf/platform/errors";
import {
  LoaderError,
  PerfBufferReader,
  RingBufferReader,
  attach,
  bpfAvailable,
  formatValue,
  loadObject,
  pinName,
  targetForProgram,
  toJsonValue,
  type Attachment,
  type EventRecord,
  type EventStream,
  type LoadedObject,
  type XdpMode,
} from "@luabpf/loader";
import { IoError, KernelUnavailableError } from "./errors.js";
import type { CliIo } from "./io.js";
import { mapJson, renderMap } from "./map-view.js";

/** Options of {@link runLive}. */
export interface LiveOptions {
  /** The interface of socket, tc and XDP programs. */
  iface?: string;
  xdpMode?: XdpMode;
  /** Limit uprobes to this process. */
  pid?: number;
  /** Stop after this many seconds. */
  duration?: number;
  /** Print the maps every this many seconds (and at exit). */
  interval?: number;
  /** One JSON object per line for events, lost counts and maps. */
  json?: boolean;
  /** Pin maps and links in this bpffs directory while running. */
  pin?: string;
  /** Run this command and stop when it ends. */
  command?: readonly string[];
  /** Stops the run when aborted (the command line wires SIGINT and SIGTERM to it). */
  signal?: AbortSignal;
  /** The object's BTF types, where the record types of event maps are found. */
  btfTypes?: readonly BtfType[];
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Loads, attaches, runs and cleans up; returns the exit status. */
export async function runLive(object: BpfObject, options: LiveOptions, io: CliIo): Promise<number> {
  const available = bpfAvailable();
  if (!available.ok) throw new KernelUnavailableError(`cannot use bpf(2) here: ${available.reason}`);
  const json = options.json ?? false;
  const print = (text: string) => io.stdout(text);
  const emitJson = (value: unknown) => print(`${JSON.stringify(value)}\n`);

  const loaded: LoadedObject = loadObject(object, options.btfTypes ? { btfTypes: options.btfTypes } : {});
  const attachments: Attachment[] = [];
  const readers: EventStream[] = [];
  const pins: string[] = [];
  let createdPinDir: string | undefined;
  let child: ChildProcess | undefined;
  const timers: NodeJS.Timeout[] = [];
  const pumps: Promise<void>[] = [];

  const printMaps = () => {
    for (const handle of loaded.maps.values()) {
      if (json) {
        const value = mapJson(handle);
        if (value) emitJson(value);
      } else {
        print(renderMap(handle));
      }
    }
  };

  const eventMaps = [...loaded.maps.values()].filter((m) => mapTypeById(m.type)?.carriesEvents());
  const printRecord = (record: EventRecord) => {
    if (json) {
      emitJson({
        type: "event",
        map: record.map,
        ...(record.cpu !== undefined ? { cpu: record.cpu } : {}),
        ...(record.value !== undefined ? { value: toJsonValue(record.value) } : { data: hex(record.data) }),
      });
      return;
    }
    const text = record.value !== undefined ? formatValue(record.value) : `len=${record.data.byteLength} data=${hex(record.data)}`;
    print(eventMaps.length > 1 ? `${record.map}: ${text}\n` : `${text}\n`);
  };

  try {
    for (const program of loaded.programs.values()) {
      let target;
      try {
        target = targetForProgram(program, {
          ...(options.iface !== undefined ? { iface: options.iface } : {}),
          ...(options.xdpMode ? { xdpMode: options.xdpMode } : {}),
          ...(options.pid !== undefined ? { pid: options.pid } : {}),
        });
      } catch (error) {
        if (error instanceof LoaderError && /needs an interface/.test(error.message)) {
          throw new LoaderError(`${error.message}: give one with --iface NAME`, { cause: error });
        }
        throw error;
      }
      if (!target) {
        io.stderr(`luabpf: ${program.name} (section ${program.section}) has no hook to attach to; loaded only\n`);
        continue;
      }
      try {
        attachments.push(attach(program, target));
      } catch (error) {
        // bpf(2), libc and loader failures (user errors of the kernel category): say which program.
        if (isLuabpfError(error) && error.kind === "user" && error.category === "kernel") {
          throw new LoaderError(`program ${program.name} (section ${program.section}): ${error.message}`, { cause: error });
        }
        throw error;
      }
      io.stderr(`luabpf: attached ${program.name} to ${attachments.at(-1)!.description}\n`);
    }
    if (attachments.length === 0) throw new LoaderError("no program of this object attaches to a hook (nothing to run)");

    if (options.pin) {
      if (!existsSync(options.pin)) {
        mkdirSync(options.pin, { recursive: true });
        createdPinDir = options.pin;
      }
      for (const handle of loaded.maps.values()) {
        const path = join(options.pin, pinName(handle.name));
        handle.pin(path);
        pins.push(path);
      }
      for (const attachment of attachments) {
        if (attachment.linkFd === undefined) continue;
        const path = join(options.pin, `link_${attachment.program}`);
        attachment.pin(path);
        pins.push(path);
      }
    }

    for (const handle of eventMaps) {
      readers.push(handle.type === MapType.ringbuf ? new RingBufferReader(handle) : new PerfBufferReader(handle));
    }

    // Nothing else may keep the event loop alive (no readers, no timers): without this timer
    // Node would exit while waiting, skipping the cleanup below.
    timers.push(setInterval(() => undefined, 1 << 30));
    const stopped = new Promise<void>((resolve, reject) => {
      if (options.signal?.aborted) return resolve();
      options.signal?.addEventListener("abort", () => resolve(), { once: true });
      if (options.duration !== undefined) timers.push(setTimeout(resolve, options.duration * 1000));
      if (options.command) {
        const [file, ...args] = options.command;
        // With --json, standard output carries only JSON: the command's output goes to stderr.
        child = spawn(file!, args, { stdio: ["inherit", json ? process.stderr : "inherit", "inherit"] });
        child.on("error", (error) => reject(IoError.from(file!, "run", error)));
        child.on("exit", () => resolve());
      }
    });
    if (options.interval !== undefined) {
      timers.push(
        setInterval(() => {
          if (!json) print("\n");
          printMaps();
        }, options.interval * 1000),
      );
    }
    io.stderr(`luabpf: running${options.duration !== undefined ? ` for ${options.duration} s` : ""}${options.command ? ` until ${options.command[0]} ends` : ""}; Ctrl-C to stop\n`);
    for (const reader of readers) {
      pumps.push(
        (async () => {
          for await (const record of reader) printRecord(record);
        })(),
      );
    }
    await stopped;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    for (const attachment of attachments) attachment.close();
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    for (const reader of readers) {
      // The pumps stop at close(); what the kernel wrote before the detach is drained here.
      const rest = reader.readAvailable();
      await reader.close();
      for (const record of rest) printRecord(record);
    }
    await Promise.allSettled(pumps);
    for (const reader of readers) {
      if (reader.lost === 0) continue;
      if (json) emitJson({ type: "lost", map: reader.map, count: reader.lost });
      else io.stderr(`luabpf: lost ${reader.lost} records of ${reader.map}\n`);
    }
    if (attachments.length > 0) printMaps();
    for (const path of pins) {
      try {
        unlinkSync(path);
      } catch {
        // already removed by someone else
      }
    }
    if (createdPinDir) {
      try {
        rmdirSync(createdPinDir);
      } catch {
        // not empty: somebody else's pins; leave them
      }
    }
    loaded.close();
  }
  return 0;
}
