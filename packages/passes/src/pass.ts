/**
 * What a pass is: a small typed object with a name, a description, its options and a
 * `run` function that reports what it changed (LLVM's new pass manager; Binaryen's
 * `Pass`). Function passes see one function at a time; module passes see the module.
 *
 * A pass object needs no registration: `pm.add(myPass)` runs it. The helpers
 * {@link defineFunctionPass} / {@link defineModulePass} add typed options validated by a
 * zod schema, a factory that creates configured pass objects, and what the name registry
 * (textual pipelines) needs. The built-in passes declare their options as plain data
 * ({@link OptionDecls}), turned into the same zod schema only when options are given or
 * listed: building the -O2 pipeline then neither loads zod nor builds a schema (in the
 * command's bundle zod is evaluated on first use: scripts/bundle-cli.js).
 */
import type { Function, Module } from "@luabpf/ir";
import { z } from "zod";
import type { FunctionAnalyses, Preserved } from "./analysis-manager.js";

/**
 * What `run` returns: `false` (nothing changed: every analysis stays valid), `true`
 * (changed: the analyses in the pass's `preserves` stay valid, none if it has none), or an
 * explicit {@link Preserved} set.
 */
export type PassResult = boolean | Preserved;

/** What a function pass gets besides the function. */
export interface FunctionPassContext {
  /** The module being compiled, when the pass manager runs on a module. */
  readonly module: Module | undefined;
  /** Analyses of the function, computed on demand and cached. */
  readonly analyses: FunctionAnalyses;
  /** Adds `amount` (default 1) to the statistic `name` of this pass ("folded", "phis-removed"...). */
  stat(name: string, amount?: number): void;
}

/** What a module pass gets besides the module. */
export interface ModulePassContext {
  /** The analyses of one function. */
  analyses(fn: Function): FunctionAnalyses;
  stat(name: string, amount?: number): void;
}

interface PassCommon<O> {
  /** The registry name (`sccp`, `simplify-cfg`): lower-case words joined by dashes. */
  readonly name: string;
  /** One line saying what the pass does. */
  readonly description: string;
  /** The options this instance was created with (printed in pipeline text). */
  readonly options?: O;
  /** The option defaults, to print only the options that differ. */
  readonly defaults?: O;
  /** Analyses still valid after `run` returned `true`; default: none. */
  readonly preserves?: Preserved;
  /**
   * Where the pass comes from: undefined for the built-in passes, the module it was loaded
   * from for a researcher's pass (`--load-pass`, `PassRegistry.registerExternal`). An
   * exception or invalid IR from such a pass is that pass's failure, not luabpf's.
   */
  readonly origin?: string;
}

/** A pass over one function at a time. */
export interface FunctionPass<O = unknown> extends PassCommon<O> {
  readonly kind: "function";
  run(fn: Function, ctx: FunctionPassContext): PassResult;
  /**
   * A cheap precondition: false only when `run` would provably change nothing in `fn` (no
   * instruction it rewrites is there, as the opcode census `analysis/census.ts` says). The
   * pass manager then counts the execution as one that changed nothing without calling
   * `run`. Absent: always run.
   */
  applies?(fn: Function, ctx: FunctionPassContext): boolean;
}

/** A pass over the whole module (inlining, global dead-function removal...). */
export interface ModulePass<O = unknown> extends PassCommon<O> {
  readonly kind: "module";
  run(module: Module, ctx: ModulePassContext): PassResult;
}

/** Any pass. */
export type Pass = FunctionPass<any> | ModulePass<any>;

/** A zod object schema of pass options (booleans, numbers, strings, enums; each with a default). */
export type OptionsSchema = z.ZodObject<z.ZodRawShape>;

/**
 * One option of a built-in pass as plain data: `{ type: "integer", min: 1, default: 64,
 * description }` stands for `z.number().int().min(1).default(64).describe(description)`,
 * `{ type: "boolean", default, description }` for `z.boolean().default(...).describe(...)`.
 */
export type OptionDecl =
  | { readonly type: "boolean"; readonly default: boolean; readonly description: string }
  | { readonly type: "integer"; readonly min?: number; readonly default: number; readonly description: string };

/** A pass's options as plain data, by name (see {@link OptionDecl}). */
export type OptionDecls = Readonly<Record<string, OptionDecl>>;

/** How a pass declares its options: a zod object schema, or {@link OptionDecls}. */
export type PassOptions = OptionsSchema | OptionDecls;

/** The options a pass runs with: what the schema parses to, or the declared options' values. */
export type OptionValues<S extends PassOptions> = S extends OptionsSchema
  ? z.output<S>
  : { -readonly [K in keyof S]: S[K] extends { type: "boolean" } ? boolean : number };

/** The options a pass's factory takes: the schema's input, or any of the declared options. */
export type OptionInput<S extends PassOptions> = S extends OptionsSchema ? z.input<S> : Partial<OptionValues<S>>;

/**
 * A configured-pass factory: call it (with options, or none for the defaults) to get a pass
 * object. Carries what the registry needs to build passes from text.
 */
export interface PassFactory<S extends PassOptions = OptionsSchema> {
  (options?: OptionInput<S>): Pass & { readonly options: OptionValues<S> };
  readonly passName: string;
  readonly description: string;
  readonly kind: "function" | "module";
  /** The zod schema validating the options (strict: unknown keys are errors); made on first use. */
  readonly schema: S extends OptionsSchema ? S : OptionsSchema;
}

export interface PassSpec<S extends PassOptions> {
  name: string;
  description: string;
  /** Options and their defaults (a zod object schema or {@link OptionDecls}); omit for a pass without options. */
  options?: S;
  preserves?: Preserved;
}

/** The zod schema that declared options stand for (see {@link OptionDecl}). */
function schemaOfDecls(decls: OptionDecls): OptionsSchema {
  const field = (d: OptionDecl): z.ZodType => {
    if (d.type === "boolean") return z.boolean().default(d.default).describe(d.description);
    const n = z.number().int();
    return (d.min === undefined ? n : n.min(d.min)).default(d.default).describe(d.description);
  };
  return z.object(Object.fromEntries(Object.entries(decls).map(([k, d]) => [k, field(d)])));
}

function isSchema(options: PassOptions): options is OptionsSchema {
  return "_zod" in options;
}

/**
 * The factories made by {@link defineFunctionPass} / {@link defineModulePass}. A pass object
 * they make holds only its options (state, if any, lives in the spec, shared by every object
 * of the factory anyway), so the registry may build such a pass once and reuse it.
 */
export const definedFactories = new WeakSet<object>();

/**
 * The built-in passes' factories ({@link markBuiltIn}) and the pass objects they made. A
 * built-in pass is a function of the function it runs on, the module's map declarations and
 * its options (no state of its own): run again on a function nothing changed since it last
 * changed nothing there, it would change nothing again, so the pass manager skips that repeat.
 */
const builtInFactories = new WeakSet<object>();
const builtInPasses = new WeakSet<object>();

/** Marks the factories of the built-in passes (pipelines.ts). */
export function markBuiltIn(...factories: PassFactory<any>[]): void {
  for (const f of factories) builtInFactories.add(f);
}

/** Was `pass` made by a built-in pass's factory (see {@link markBuiltIn})? */
export function isBuiltInPass(pass: Pass): boolean {
  return builtInPasses.has(pass);
}

function makeFactory<S extends PassOptions, P extends Pass>(
  spec: PassSpec<S>,
  kind: "function" | "module",
  build: (options: OptionValues<S>) => P,
): PassFactory<S> {
  assertPassName(spec.name);
  // The strict schema and the defaults are made on first use, not when the pass's module is
  // loaded: a command that builds only the -O2 pipeline then asks zod for nothing it does not
  // need (start-up; see docs/performance.md).
  const declared = spec.options;
  let schema: OptionsSchema | undefined;
  const strictSchema = (): OptionsSchema => (schema ??= (declared === undefined ? z.object({}) : isSchema(declared) ? declared : schemaOfDecls(declared)).strict());
  let defaults: OptionValues<S> | undefined;
  const defaultOptions = (): OptionValues<S> =>
    (defaults ??= (declared === undefined ? {} : isSchema(declared) ? (declaredDefaults(declared) ?? parseOptions({}, declared)) : declDefaults(declared)) as OptionValues<S>);
  // `{}` has no unknown keys: its defaults need no strict copy of the schema.
  const parseOptions = (options: unknown, schema: OptionsSchema = strictSchema()): OptionValues<S> => {
    // jitless: options are checked a few times per process, where zod's generated fast path
    // (a `new Function` per object schema) costs far more than it saves.
    const parsed = schema.safeParse(options, { jitless: true });
    if (!parsed.success) throw new TypeError(`pass ${spec.name}: bad options: ${z.prettifyError(parsed.error)}`);
    return parsed.data as OptionValues<S>;
  };
  const factory = ((options?: OptionInput<S>) => {
    // No options (or `{}`): the defaults, which is what the schema makes of `{}`.
    const pass =
      options === undefined || (isPlainObject(options) && Object.keys(options).length === 0)
        ? { ...build({ ...defaultOptions() }), defaults: defaultOptions() }
        : { ...build(parseOptions(options)), defaults: defaultOptions() };
    if (builtInFactories.has(factory)) builtInPasses.add(pass);
    return pass;
  }) as unknown as PassFactory<S>;
  Object.defineProperties(factory, {
    passName: { value: spec.name },
    description: { value: spec.description },
    kind: { value: kind },
    schema: { get: strictSchema },
  });
  definedFactories.add(factory);
  return factory;
}

/**
 * What `schema` makes of `{}` when every field has a `.default(...)`: zod returns a field's
 * default as it is, without parsing it (`.default` short-circuits, unlike `.prefault`), so
 * the defaults are read from the schema instead of asking zod's parser, whose first use
 * in a process costs more than a compile of a small program (start-up; see
 * docs/performance.md). Undefined when some field has no default: then zod decides.
 */
function declaredDefaults(schema: OptionsSchema): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    const def = (field as { _zod?: { def?: { type?: string; defaultValue?: unknown } } })._zod?.def;
    if (def?.type !== "default") return undefined;
    out[key] = def.defaultValue;
  }
  return out;
}

/** The defaults of declared options (what their schema makes of `{}`). */
function declDefaults(decls: OptionDecls): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, d] of Object.entries(decls)) out[key] = d.default;
  return out;
}

function isPlainObject(x: unknown): boolean {
  return typeof x === "object" && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}

/**
 * Defines a function pass with typed options. `run` receives the validated options and
 * returns whether it changed the function (or what it preserved).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Builder, Module, i64, ptrType } from "@luabpf/ir";
 * import { PassManager, Preserved, defineFunctionPass } from "@luabpf/passes";
 * import { z } from "zod";
 *
 * // Counts the instructions of each opcode, up to a limit; changes nothing.
 * const census = defineFunctionPass({
 *   name: "census",
 *   description: "counts instructions by opcode",
 *   options: z.object({ limit: z.number().int().default(100).describe("stop counting after this many") }),
 *   preserves: Preserved.all(),
 *   run(fn, ctx, options) {
 *     let n = 0;
 *     for (const inst of fn.instructions()) if (n++ < options.limit) ctx.stat(inst.opcode);
 *     return false;
 *   },
 * });
 *
 * const m = new Module();
 * const fn = m.addFunction("prog", [ptrType("ctx")], i64);
 * const b = new Builder(fn).atEnd(fn.createBlock());
 * b.ret(b.add(b.const(1), b.const(2)));
 * const report = new PassManager([census({ limit: 5 })]).run(m);
 * assert.deepEqual(report.passes[0]!.stats, { add: 1, ret: 1 });
 * ```
 */
export function defineFunctionPass<S extends PassOptions = {}>(
  spec: PassSpec<S> & {
    run(fn: Function, ctx: FunctionPassContext, options: OptionValues<S>): PassResult;
    /** See {@link FunctionPass.applies}. */
    applies?(fn: Function, ctx: FunctionPassContext, options: OptionValues<S>): boolean;
  },
): PassFactory<S> {
  const applies = spec.applies;
  return makeFactory(spec, "function", (options) => ({
    kind: "function",
    name: spec.name,
    description: spec.description,
    options,
    preserves: spec.preserves,
    run: (fn: Function, ctx: FunctionPassContext) => spec.run(fn, ctx, options),
    ...(applies ? { applies: (fn: Function, ctx: FunctionPassContext) => applies(fn, ctx, options) } : {}),
  }));
}

/** Defines a module pass with typed options (see {@link defineFunctionPass}). */
export function defineModulePass<S extends PassOptions = {}>(
  spec: PassSpec<S> & { run(module: Module, ctx: ModulePassContext, options: OptionValues<S>): PassResult },
): PassFactory<S> {
  return makeFactory(spec, "module", (options) => ({
    kind: "module",
    name: spec.name,
    description: spec.description,
    options,
    preserves: spec.preserves,
    run: (module: Module, ctx: ModulePassContext) => spec.run(module, ctx, options),
  }));
}

const PASS_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
function assertPassName(name: string): void {
  if (!PASS_NAME.test(name)) throw new TypeError(`pass name '${name}' must be lower-case words joined by dashes`);
}

/** The pipeline-text form of one configured pass: `name` or `name(key=value,...)` for non-default options. */
export function passToString(pass: Pass): string {
  // A frozen pass (a pipeline the registry keeps) cannot change: its text is remembered.
  if (!Object.isFrozen(pass)) return formatPass(pass);
  let text = frozenText.get(pass);
  if (text === undefined) frozenText.set(pass, (text = formatPass(pass)));
  return text;
}
const frozenText = new WeakMap<Pass, string>();

function formatPass(pass: Pass): string {
  const opts = pass.options as Record<string, unknown> | undefined;
  const defaults = pass.defaults as Record<string, unknown> | undefined;
  if (!opts || typeof opts !== "object") return pass.name;
  const parts = Object.keys(opts)
    .filter((k) => !defaults || defaults[k] !== opts[k])
    .map((k) => `${k}=${String(opts[k])}`);
  return parts.length ? `${pass.name}(${parts.join(",")})` : pass.name;
}
