/**
 * The analysis manager: computes function analyses on demand, caches them per function,
 * and drops what a pass does not preserve (LLVM's new pass manager, `AnalysisManager` and
 * `PreservedAnalyses`, cut down to what a small compiler needs).
 *
 * An analysis is an {@link AnalysisKey}: a name, a `compute` function and optionally an
 * `equals` used by the debug check. Keys are compared by identity, so a researcher's own
 * analysis is just another exported constant. Analyses may depend on others (loops need the
 * dominator tree); an analysis survives a pass only if it and everything it depends on are
 * preserved. Keys marked `cfgOnly` depend only on the CFG (blocks and terminators), so a
 * pass that leaves the CFG alone preserves them all with {@link Preserved.cfg}.
 *
 * Cost: a cache hit is two Map lookups; invalidation is linear in the cached entries.
 */
import { InternalError, type Function } from "@luabpf/ir";

/** Identifies an analysis and says how to compute it. */
export interface AnalysisKey<T> {
  readonly name: string;
  readonly description?: string;
  /** Analyses this one reads through the manager (invalidated with them). */
  readonly dependsOn?: readonly AnalysisKey<unknown>[];
  /** True when the result depends only on the CFG: preserved by passes that keep the CFG. */
  readonly cfgOnly?: boolean;
  compute(fn: Function, analyses: FunctionAnalyses): T;
  /** Structural equality, for the debug check of preserved analyses. */
  equals?(a: T, b: T): boolean;
}

/** Declares an analysis (an identity function that fixes the type parameter). */
export function defineAnalysis<T>(key: AnalysisKey<T>): AnalysisKey<T> {
  return key;
}

/**
 * What a pass leaves valid. Immutable; `all()` after a pass that changed nothing,
 * `none()` after one that changed everything, `cfg()` when only instructions moved.
 */
export class Preserved {
  private constructor(
    private readonly everything: boolean,
    private readonly cfgAnalyses: boolean,
    private readonly keys: ReadonlySet<AnalysisKey<unknown>>,
  ) {}
  private static readonly ALL = new Preserved(true, true, new Set());
  private static readonly NONE = new Preserved(false, false, new Set());
  static all(): Preserved {
    return Preserved.ALL;
  }
  static none(): Preserved {
    return Preserved.NONE;
  }
  /** Every `cfgOnly` analysis, plus `extra`. */
  static cfg(...extra: AnalysisKey<unknown>[]): Preserved {
    return new Preserved(false, true, new Set(extra));
  }
  /** Exactly the listed analyses. */
  static only(...keys: AnalysisKey<unknown>[]): Preserved {
    return new Preserved(false, false, new Set(keys));
  }
  /** Is `key` preserved by itself (not looking at what it depends on)? */
  preserves(key: AnalysisKey<unknown>): boolean {
    return this.everything || this.keys.has(key) || (this.cfgAnalyses && key.cfgOnly === true);
  }
  get isAll(): boolean {
    return this.everything;
  }
  /** The set preserved by both. */
  intersect(other: Preserved): Preserved {
    if (this.everything) return other;
    if (other.everything) return this;
    const keys = new Set<AnalysisKey<unknown>>();
    for (const k of this.keys) if (other.preserves(k)) keys.add(k);
    for (const k of other.keys) if (this.preserves(k)) keys.add(k);
    return new Preserved(false, this.cfgAnalyses && other.cfgAnalyses, keys);
  }
  toString(): string {
    if (this.everything) return "all";
    const names = [...this.keys].map((k) => k.name);
    if (this.cfgAnalyses) names.unshift("<cfg>");
    return names.length ? names.join(",") : "none";
  }
}

/** The analyses of one function, as a pass sees them. */
export interface FunctionAnalyses {
  /** The (possibly cached) result of `key` for this function. */
  get<T>(key: AnalysisKey<T>): T;
  /** The cached result, without computing it. */
  cached<T>(key: AnalysisKey<T>): T | undefined;
  /**
   * Drops cached results inside a pass, after it edited the function, so that the next
   * `get` computes them afresh: with no argument every analysis; with a {@link Preserved}
   * set, what it does not keep; with keys, those analyses (and the ones that depend on
   * them). Example: a pass that inserted preheaders calls `invalidate()` (or
   * `invalidate(Preserved.none())`) and then reads fresh loops and dominators.
   */
  invalidate(what?: Preserved | AnalysisKey<unknown>, ...more: AnalysisKey<unknown>[]): void;
}

/** Thrown in debug mode when a pass claims to preserve an analysis it changed. */
export class StaleAnalysisError extends InternalError {
  constructor(
    readonly passName: string,
    readonly analysisName: string,
    readonly functionName: string,
  ) {
    super(`pass '${passName}' claims to preserve analysis '${analysisName}' of function ${functionName}, but a fresh computation differs`);
  }
}

/** Caches analyses per function. */
export class AnalysisManager {
  private readonly cache = new Map<Function, Map<AnalysisKey<unknown>, unknown>>();
  /** How often each analysis was computed (by name), for statistics and tests. */
  readonly computeCounts = new Map<string, number>();

  /** The analyses of `fn` as seen by a pass (one object per function, made on first use). */
  forFunction(fn: Function): FunctionAnalyses {
    let view = this.views.get(fn);
    if (view === undefined) this.views.set(fn, (view = this.makeView(fn)));
    return view;
  }
  private readonly views = new Map<Function, FunctionAnalyses>();

  private makeView(fn: Function): FunctionAnalyses {
    return {
      get: (key) => this.get(fn, key),
      cached: (key) => this.cache.get(fn)?.get(key) as never,
      invalidate: (what, ...more) => {
        if (what === undefined) return this.invalidate(fn, Preserved.none());
        if (what instanceof Preserved) return this.invalidate(fn, what);
        this.invalidateKeys(fn, [what, ...more]);
      },
    };
  }

  get<T>(fn: Function, key: AnalysisKey<T>): T {
    let m = this.cache.get(fn);
    if (!m) this.cache.set(fn, (m = new Map()));
    if (m.has(key)) return m.get(key) as T;
    const active = this.computing;
    if (active.has(key)) throw new InternalError(`analysis '${key.name}' depends on itself`);
    active.add(key);
    try {
      const v = key.compute(fn, this.forFunction(fn));
      m.set(key, v);
      this.computeCounts.set(key.name, (this.computeCounts.get(key.name) ?? 0) + 1);
      return v;
    } finally {
      active.delete(key);
    }
  }
  private readonly computing = new Set<AnalysisKey<unknown>>();

  /** Drops the cached analyses of `fn` that `preserved` does not keep (with their dependents). */
  invalidate(fn: Function, preserved: Preserved): void {
    if (preserved.isAll) return;
    const m = this.cache.get(fn);
    if (!m || m.size === 0) return;
    const keep = (k: AnalysisKey<unknown>, seen: Set<AnalysisKey<unknown>> | undefined): boolean => {
      if (!preserved.preserves(k) || seen?.has(k)) return false;
      if (k.dependsOn === undefined || k.dependsOn.length === 0) return true;
      const path = seen ?? new Set<AnalysisKey<unknown>>();
      path.add(k);
      return k.dependsOn.every((d) => keep(d, path));
    };
    // (Deleting the entry being visited is safe while iterating a Map.)
    for (const k of m.keys()) if (!keep(k, undefined)) m.delete(k);
  }

  /** Drops the cached `keys` of `fn` and every cached analysis that depends on one of them. */
  invalidateKeys(fn: Function, keys: readonly AnalysisKey<unknown>[]): void {
    const m = this.cache.get(fn);
    if (!m) return;
    const dropped = new Set(keys);
    const dependsOnDropped = (k: AnalysisKey<unknown>): boolean => dropped.has(k) || (k.dependsOn ?? []).some(dependsOnDropped);
    for (const k of [...m.keys()]) if (dependsOnDropped(k)) m.delete(k);
  }

  /** Forgets everything about `fn` (or every function). */
  clear(fn?: Function): void {
    if (fn) {
      this.cache.delete(fn);
      this.views.delete(fn);
    } else {
      this.cache.clear();
      this.views.clear();
    }
  }

  /**
   * Debug check: recomputes every cached analysis of `fn` with an `equals` and compares.
   * Throws {@link StaleAnalysisError} naming `passName` on the first difference.
   */
  checkCached(fn: Function, passName: string): void {
    const m = this.cache.get(fn);
    if (!m) return;
    for (const [key, value] of m) {
      if (!key.equals) continue;
      const fresh = new AnalysisManager().get(fn, key);
      if (!key.equals(value, fresh)) throw new StaleAnalysisError(passName, key.name, fn.name);
    }
  }
}
