/**
 * Typed arrays that live for one allocation, carved from one buffer reused across
 * allocations. V8 allocates a typed array over 64 bytes outside the JS heap (an
 * ArrayBuffer, its backing store and its tracking by the garbage collector: ~2.6 µs each),
 * and allocating one function makes some 60 of them — each a few hundred bytes for the
 * functions of ordinary programs; a view of an existing buffer costs a fraction of that.
 *
 * Inside {@link withScratch}, {@link int32s}, {@link float64s} and {@link uint8s} (and the
 * structures of `structures.ts`, which allocate through them) hand out zero-filled views
 * of the scratch buffer; they are valid until the scope ends, so nothing the scope returns
 * may be one (the allocator's output arrays are allocated with `new`). Outside a scope, and
 * for what does not fit (huge functions), they allocate as `new` does. The buffer grows,
 * up to {@link MAX_BYTES}, to what the largest allocation so far asked for.
 */

const INITIAL_BYTES = 1 << 16;
const MAX_BYTES = 1 << 22;
/** Arrays of at most this many bytes are allocated on the JS heap anyway: `new` is cheaper than a view. */
const ON_HEAP_BYTES = 64;

let buffer = new ArrayBuffer(INITIAL_BYTES);
/** The next free byte of the buffer; -1 outside a scope. */
let top = -1;
/** Bytes the current scope asked for (fitting or not). */
let demand = 0;

/** Runs `body` with scratch arrays (a nested call shares the enclosing scope). */
export function withScratch<T>(body: () => T): T {
  if (top >= 0) return body();
  top = 0;
  demand = 0;
  try {
    return body();
  } finally {
    top = -1;
    if (demand > buffer.byteLength && buffer.byteLength < MAX_BYTES) {
      let size = buffer.byteLength;
      while (size < demand && size < MAX_BYTES) size *= 2;
      buffer = new ArrayBuffer(size);
    }
  }
}

/** The offset of `bytes` bytes in the buffer (8-aligned), or -1 (outside a scope, small, or no room). */
function carve(bytes: number): number {
  if (top < 0 || bytes <= ON_HEAP_BYTES) return -1;
  const at = (top + 7) & ~7;
  demand += bytes + 8;
  if (at + bytes > buffer.byteLength) return -1;
  top = at + bytes;
  return at;
}

/** `n` 32-bit integers, each `fill`. */
export function int32s(n: number, fill = 0): Int32Array {
  const at = carve(4 * n);
  if (at < 0) return fill === 0 ? new Int32Array(n) : new Int32Array(n).fill(fill);
  return new Int32Array(buffer, at, n).fill(fill);
}

/** `n` doubles, each 0. */
export function float64s(n: number): Float64Array {
  const at = carve(8 * n);
  if (at < 0) return new Float64Array(n);
  return new Float64Array(buffer, at, n).fill(0);
}

/** `n` bytes, each 0. */
export function uint8s(n: number): Uint8Array {
  const at = carve(n);
  if (at < 0) return new Uint8Array(n);
  return new Uint8Array(buffer, at, n).fill(0);
}
