/**
 * The pass-name registry and the textual pipeline syntax (CLI `--passes`, file-test
 * headers). A pipeline is built — and validated — before anything runs:
 *
 *   pipeline := item ("," item)*
 *   item     := name [ "(" option ("," option)* ")" ]  |  alias   (O0, O1, O2: that level's pipeline)
 *   option   := key "=" value          value: true | false | integer | word
 *
 * e.g. `sccp,instcombine,dce(aggressive=false),simplify-cfg`. Options are checked by each
 * pass's zod schema (strict: unknown keys are errors). Every problem of the text is
 * reported at once in a {@link PipelineError} that lists the valid pass names or the
 * pass's options with their types and defaults.
 */
import { LuabpfError } from "@luabpf/platform/errors";
import { z } from "zod";
import { definedFactories, type OptionsSchema, type Pass, type PassFactory } from "./pass.js";

/** A bad pipeline text: every problem found, plus help. */
export class PipelineError extends LuabpfError {
  readonly kind = "user" as const;
  readonly category = "usage" as const;
  constructor(
    readonly pipeline: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid pass pipeline '${pipeline}':\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PipelineError";
  }
}

/** The syntax of one item, checked before looking names up: its problems (none when valid). */
function itemSyntaxProblems(item: RawItem): string[] {
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]*$/.test(item.name)) problems.push("a pass name is lower-case letters, digits and dashes");
  for (const [key] of item.options) if (!/^[a-z][a-zA-Z0-9-]*$/.test(key)) problems.push("bad option name");
  return problems;
}

/** Maps pass names to factories. */
export class PassRegistry {
  private readonly factories = new Map<string, PassFactory<OptionsSchema>>();
  /** Name → where the factory came from, for passes registered with {@link registerExternal}. */
  private readonly origins = new Map<string, string>();

  /** Registers a factory made with `defineFunctionPass`/`defineModulePass`. Names are unique. */
  register(...factories: PassFactory<any>[]): this {
    for (const f of factories) {
      if (this.factories.has(f.passName)) {
        const where = this.origins.get(f.passName);
        throw new TypeError(`pass '${f.passName}' is already registered${where ? ` (from ${where})` : " (a built-in pass)"}`);
      }
      this.factories.set(f.passName, f);
    }
    this.built.clear();
    return this;
  }

  /**
   * Registers a researcher's factories, remembering where they come from (`origin`, e.g.
   * the module path): the passes built from them carry it, so that their failures are
   * reported as theirs (see `Pass.origin`).
   */
  registerExternal(origin: string, ...factories: PassFactory<any>[]): this {
    this.register(...factories);
    for (const f of factories) this.origins.set(f.passName, origin);
    return this;
  }

  /** Pipeline items that stand for whole pipelines (`O2` → the -O2 pipeline). */
  private readonly aliases = new Map<string, string>();

  /**
   * Makes `name` (e.g. `O2`) stand for the pipeline `text` inside pipeline text, so that
   * `O2,licm` is the -O2 pipeline followed by licm.
   */
  defineAlias(name: string, text: string): this {
    this.aliases.set(name, text);
    this.built.clear();
    return this;
  }

  /** Where pass `name` comes from: its module for an external pass, undefined for a built-in one. */
  originOf(name: string): string | undefined {
    return this.origins.get(name);
  }
  get(name: string): PassFactory<OptionsSchema> | undefined {
    return this.factories.get(name);
  }
  has(name: string): boolean {
    return this.factories.has(name);
  }
  /** Registered names, sorted. */
  names(): string[] {
    return [...this.factories.keys()].sort();
  }
  /** A copy to which more passes can be added without touching this one. */
  clone(): PassRegistry {
    const r = new PassRegistry();
    for (const f of this.factories.values()) {
      const origin = this.origins.get(f.passName);
      if (origin) r.registerExternal(origin, f);
      else r.register(f);
    }
    for (const [name, text] of this.aliases) r.defineAlias(name, text);
    return r;
  }

  /**
   * Pipelines already built from text, by text: a compile builds the same -O2 pipeline every
   * time, and building it (splitting the text, checking every item and its options with zod,
   * calling the factories) was a measurable part of a small program's warm compile. A pipeline
   * is kept only when every pass in it comes from a factory made by `defineFunctionPass` /
   * `defineModulePass` and is not a researcher's ({@link registerExternal}): such pass objects
   * hold nothing but their options, so they are frozen and one object runs in any number of
   * compiles. Other pipelines are built afresh each time. Cleared when a pass or an alias is added.
   */
  private readonly built = new Map<string, readonly Pass[]>();
  /** Whether every item of the text last built could be kept (see {@link built}). */
  private reusable = true;

  /**
   * Builds the passes of a pipeline text; throws {@link PipelineError} listing every problem.
   * The array is new on every call (callers may change it); the built-in pass objects in it
   * are frozen and shared between calls with the same text.
   */
  parse(text: string): Pass[] {
    const known = this.built.get(text);
    if (known) return known.slice();
    this.reusable = true;
    const passes = this.build(text);
    if (this.reusable) {
      for (const p of passes) Object.freeze(Object.freeze(p).options);
      this.built.set(text, passes.slice());
    }
    return passes;
  }

  private build(text: string): Pass[] {
    const problems: string[] = [];
    const passes: Pass[] = [];
    const items = splitItems(text, problems);
    for (const item of items) {
      const alias = this.aliases.get(item.raw);
      if (alias !== undefined) {
        passes.push(...this.build(alias));
        continue;
      }
      const syntax = itemSyntaxProblems(item);
      if (syntax.length > 0) {
        problems.push(`'${item.raw}': ${syntax.join("; ")}`);
        continue;
      }
      const factory = this.factories.get(item.name);
      if (!factory) {
        const near = this.names().filter((n) => editDistance(n, item.name) <= 2);
        problems.push(`unknown pass '${item.name}'${near.length ? ` (did you mean ${near.map((n) => `'${n}'`).join(" or ")}?)` : ""}; valid passes: ${this.names().join(", ")}`);
        continue;
      }
      const options: Record<string, unknown> = {};
      for (const [k, v] of item.options) {
        if (k in options) problems.push(`${item.name}: option '${k}' given twice`);
        options[k] = v;
      }
      // Without options, a defined pass's factory makes it with its defaults (no validation to do).
      let pass = item.options.length === 0 && definedFactories.has(factory) ? withDefaults(factory) : undefined;
      if (pass === undefined) {
        const parsed = factory.schema.safeParse(options, { jitless: true });
        if (!parsed.success) {
          const issues = parsed.error.issues.map((i) => (i.path.length ? `option '${i.path.join(".")}': ${i.message}` : i.message)).join("; ");
          problems.push(`${item.name}: ${issues}; valid options: ${describeOptions(factory.schema) || "(none)"}`);
          continue;
        }
        pass = factory(parsed.data as never);
      }
      const origin = this.origins.get(item.name);
      if (origin !== undefined || !definedFactories.has(factory)) this.reusable = false;
      passes.push(origin ? { ...pass, origin } : pass);
    }
    if (problems.length) throw new PipelineError(text, problems);
    return passes;
  }

  /** Help text: every pass with its description and options. */
  help(): string {
    return this.names()
      .map((n) => {
        const f = this.factories.get(n)!;
        const opts = describeOptions(f.schema);
        const origin = this.origins.get(n);
        return `${n}${f.kind === "module" ? " (module)" : ""}${origin ? ` [${origin}]` : ""}: ${f.description}${opts ? `\n    options: ${opts}` : ""}`;
      })
      .join("\n");
  }
}

/** The pass a defined factory makes with its defaults, or undefined if that fails (its options are then checked and reported). */
function withDefaults(factory: PassFactory<OptionsSchema>): Pass | undefined {
  try {
    return factory();
  } catch {
    return undefined;
  }
}

/** `name: type = default (description)` for every option of a schema. */
export function describeOptions(schema: OptionsSchema): string {
  const defaults = schema.safeParse({}, { jitless: true });
  return Object.entries(schema.shape)
    .map(([k, t]) => {
      const type = zodTypeName(t as z.ZodType);
      const d = defaults.success ? (defaults.data as Record<string, unknown>)[k] : undefined;
      const desc = (t as z.ZodType).description;
      return `${k}: ${type}${d !== undefined ? ` = ${String(d)}` : ""}${desc ? ` (${desc})` : ""}`;
    })
    .join(", ");
}

/** The option's type for help texts, through zod's public schema API. */
function zodTypeName(t: z.ZodType): string {
  if (t instanceof z.ZodDefault || t instanceof z.ZodOptional || t instanceof z.ZodPrefault) return zodTypeName(t.unwrap() as z.ZodType);
  if (t instanceof z.ZodEnum) return (t.options as readonly (string | number)[]).join("|");
  return t.type;
}

interface RawItem {
  raw: string;
  name: string;
  options: [string, boolean | number | string][];
}

/** Splits `a,b(x=1,y=2),c` at top-level commas and parses each item's options. */
function splitItems(text: string, problems: string[]): RawItem[] {
  const items: RawItem[] = [];
  const pieces: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (depth < 0) {
      problems.push(`unbalanced ')' in '${text}'`);
      return [];
    }
    if (ch === "," && depth === 0) {
      pieces.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (depth !== 0) {
    problems.push(`unbalanced '(' in '${text}'`);
    return [];
  }
  pieces.push(cur);
  if (pieces.length === 1 && pieces[0]!.trim() === "") return [];
  for (const piece of pieces) {
    const raw = piece.trim();
    const m = /^([^()]*)(?:\((.*)\))?$/s.exec(raw);
    if (!raw || !m) {
      problems.push(raw ? `cannot parse '${raw}'` : "empty pass name (stray comma?)");
      continue;
    }
    const options: RawItem["options"] = [];
    const body = m[2]?.trim();
    if (body) {
      for (const opt of body.split(",")) {
        const eq = opt.indexOf("=");
        if (eq < 0) {
          problems.push(`${m[1]!.trim()}: option '${opt.trim()}' needs a value (key=value)`);
          continue;
        }
        options.push([opt.slice(0, eq).trim(), parseValue(opt.slice(eq + 1).trim())]);
      }
    }
    items.push({ raw, name: m[1]!.trim(), options });
  }
  return items;
}

function parseValue(s: string): boolean | number | string {
  if (s === "true") return true;
  if (s === "false") return false;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  return s;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}
