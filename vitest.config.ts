import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{libs,services,cli,deploy,tests,bench,loadtest}/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
  },
});
