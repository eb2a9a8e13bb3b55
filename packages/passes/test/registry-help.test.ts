// Option descriptions in pass help come from zod's public schema API (types, defaults,
// enums, descriptions).
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { describeOptions } from "../src/registry.js";

describe("describeOptions", () => {
  test("types, defaults, enums and descriptions", () => {
    const schema = z.object({
      aggressive: z.boolean().default(true).describe("remove more"),
      mode: z.enum(["fast", "slow"]).default("fast"),
      limit: z.number().optional(),
      name: z.string().prefault("x"),
    });
    expect(describeOptions(schema)).toBe("aggressive: boolean = true (remove more), mode: fast|slow = fast, limit: number, name: string = x");
  });
});
