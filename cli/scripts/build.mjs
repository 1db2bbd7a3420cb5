// Bundles the CLI into dist/ so `tailor` starts from plain JavaScript (no TypeScript loader).
// The workspace libraries export TypeScript sources, which esbuild compiles on the way.
// Commands are separate chunks, loaded when they run, so --help and --version stay fast.
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(cli, "dist");
const started = Date.now();
const result = await build({
  absWorkingDir: cli,
  entryPoints: { tailor: "src/main.ts" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  write: false,
  sourcemap: "linked",
  chunkNames: "chunks/[name]-[hash]",
  // pg's optional native binding; the CLI loads no native addon (onnxruntime-node would fail here).
  external: ["pg-native"],
  // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
  banner: {
    js: 'import { createRequire as __tailorRequire } from "node:module"; const require = __tailorRequire(import.meta.url);',
  },
  logLevel: "warning",
});
// Write beside, then rename: a CLI started while this runs never sees a half-written file.
await mkdir(join(outdir, "chunks"), { recursive: true });
const keep = new Set();
const entry = result.outputFiles.filter((f) => f.path.endsWith("tailor.js"));
for (const f of [...result.outputFiles.filter((f) => !entry.includes(f)), ...entry]) {
  await mkdir(dirname(f.path), { recursive: true });
  const tmp = `${f.path}.${process.pid}.tmp`;
  await writeFile(tmp, f.contents);
  await rename(tmp, f.path);
  keep.add(f.path);
}
for (const f of await readdir(join(outdir, "chunks")))
  if (!keep.has(join(outdir, "chunks", f)) && !f.endsWith(".tmp"))
    await rm(join(outdir, "chunks", f), { force: true });
console.log(`[cli] built ${join("cli", "dist")} in ${Date.now() - started} ms`);
