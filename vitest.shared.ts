// Shared vitest settings: every package's vitest.config.ts calls packageTestConfig(name).
// Sources resolve through the "@luabpf/source" export condition, so tests run against
// src/ of sibling packages without a build. When LUABPF_TEST_REPORT_DIR is set (CI),
// each package also writes a JSON report that .ci/run totals into one line.
import { defineConfig } from "vitest/config";

export function packageTestConfig(name: string) {
  const reportDir = process.env.LUABPF_TEST_REPORT_DIR;
  return defineConfig({
    ssr: { resolve: { conditions: ["@luabpf/source"] } },
    resolve: { conditions: ["@luabpf/source"] },
    test: {
      name,
      include: ["test/**/*.test.ts"],
      setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      reporters: reportDir ? ["default", "json"] : ["default"],
      outputFile: reportDir ? { json: `${reportDir}/${name}.json` } : undefined,
    },
  });
}
