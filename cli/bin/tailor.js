#!/usr/bin/env node
// Runs the bundled CLI (cli/dist, made by `npm run build -w cli`). Without it, or with
// TAILOR_CLI_FROM_SOURCE=1, it runs the TypeScript sources through tsx: slower to start, but
// always current while the CLI is being changed.
import { existsSync } from "node:fs";

const dist = new URL("../dist/tailor.js", import.meta.url);
if (process.env.TAILOR_CLI_FROM_SOURCE !== "1" && existsSync(dist)) {
  await import(dist.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/main.ts");
}
