/**
 * The command line's own errors. With the library's ({@link CompileError} and the
 * loader's), they decide the exit status in `main.ts`: 2 for bad usage, 1 for bad input
 * (including files that cannot be read or written), 70 for internal errors only.
 */

import { LuabpfError } from "@luabpf/platform/errors";

/** Bad command-line usage: exit status 2, a one-line message and where to find help. */
export class UsageError extends LuabpfError {
  override name = "UsageError";
  readonly kind = "user" as const;
  readonly category = "usage" as const;
  /** The command whose usage was wrong (for the help hint), if any. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** A file that cannot be read or written: exit status 1, one line, no usage text. */
export class IoError extends LuabpfError {
  override name = "IoError";
  readonly kind = "user" as const;
  readonly category = "io" as const;
  constructor(
    readonly path: string,
    readonly operation: "read" | "write" | "create" | "run",
    readonly code: string | undefined,
    detail: string,
  ) {
    super(`cannot ${operation} ${path}: ${detail}`);
  }

  /** Wraps a Node.js file-system error with what was being done. */
  static from(path: string, operation: "read" | "write" | "create" | "run", e: unknown): IoError {
    const err = e as NodeJS.ErrnoException;
    return new IoError(path, operation, err.code, describeCode(err));
  }
}

/** `ENOENT` → "No such file or directory", as the C library words it. */
function describeCode(e: NodeJS.ErrnoException): string {
  const words: Record<string, string> = {
    ENOENT: "No such file or directory",
    EACCES: "Permission denied",
    EISDIR: "Is a directory",
    ENOTDIR: "Not a directory",
    EEXIST: "File exists",
    EROFS: "Read-only file system",
    ENOSPC: "No space left on device",
    EPERM: "Operation not permitted",
  };
  return (e.code && words[e.code]) ?? e.message;
}

/** The kernel cannot do what was asked here (no `bpf(2)`, missing privileges): exit status 1. */
export class KernelUnavailableError extends LuabpfError {
  override name = "KernelUnavailableError";
  readonly kind = "user" as const;
  readonly category = "kernel" as const;
}
