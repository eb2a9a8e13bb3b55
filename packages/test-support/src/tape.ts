/**
 * A choice tape: the random generators read every decision off a list of numbers that
 * fast-check produces and shrinks (shorter lists, smaller numbers), which shrinks the
 * generated program. An exhausted tape reads zeros, which always picks the first (the
 * simplest) choice, so every tape builds something.
 */
export class Tape {
  private pos = 0;
  private bigPos = 0;

  constructor(
    private readonly numbers: readonly number[],
    /** Large constants, used in turn by {@link Tape.big} (empty: `0n`). */
    private readonly bigs: readonly bigint[] = [],
  ) {}

  /** A number in [0, n). */
  below(n: number): number {
    if (n <= 1) return 0;
    return (this.numbers[this.pos++] ?? 0) % n;
  }

  /** True with probability about `p` (0..1); false on an exhausted tape. */
  chance(p: number): boolean {
    return this.below(1000) >= (1 - p) * 1000;
  }

  /** True with probability about `percent`/100, and never once the tape is exhausted. */
  percent(percent: number): boolean {
    return this.below(100) < percent && this.pos <= this.numbers.length;
  }

  /** One of `xs` (the first on an exhausted tape). */
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error("pick from an empty list");
    return xs[this.below(xs.length)]!;
  }

  /** The next large constant (`0n` when there are none). */
  big(): bigint {
    return this.bigs.length > 0 ? this.bigs[this.bigPos++ % this.bigs.length]! : 0n;
  }
}
