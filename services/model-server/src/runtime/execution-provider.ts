import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Logger } from "@tailor/telemetry";

/** What a caller may ask for. */
export type RequestedExecutionProvider = "cpu" | "cuda" | "auto";
/** What onnxruntime is actually given. */
export type ExecutionProvider = "cpu" | "cuda";

/** What the CUDA check looks at; tests replace it, production uses {@link probeCudaSystem}. */
export interface CudaProbe {
  /** Folder of onnxruntime-node's native binding, where its CUDA provider library must sit. */
  readonly bindingDir: string | null;
  /** Shared-library file names the dynamic loader can find (ldconfig cache + LD_LIBRARY_PATH). */
  readonly loadableLibraries: readonly string[];
}

const CUDA_PROVIDER_LIB = "libonnxruntime_providers_cuda.so";
const REQUIRED_CUDA_LIBS = ["libcudart.so", "libcublas.so"] as const;

/**
 * Returns "cuda" only when it was asked for (or "auto") and onnxruntime's CUDA provider and the
 * CUDA runtime libraries are present; otherwise warns and returns "cpu". Onnxruntime throws at
 * session creation when given a provider it cannot load, so absent means never passed.
 */
export function chooseExecutionProvider(
  requested: RequestedExecutionProvider,
  logger: Logger,
  probe: CudaProbe = probeCudaSystem(),
): ExecutionProvider {
  if (requested === "cpu") return "cpu";
  const missing = missingCudaPieces(probe);
  if (missing.length === 0) {
    logger.info({ requested }, "using the CUDA execution provider");
    return "cuda";
  }
  const log = requested === "cuda" ? logger.warn.bind(logger) : logger.info.bind(logger);
  log(
    { requested, missing, bindingDir: probe.bindingDir },
    "CUDA execution provider unavailable, falling back to CPU",
  );
  return "cpu";
}

/** Names of what is missing for the CUDA provider; empty when it can be used. */
export function missingCudaPieces(probe: CudaProbe): string[] {
  const missing: string[] = [];
  if (probe.bindingDir === null || !existsSync(join(probe.bindingDir, CUDA_PROVIDER_LIB))) {
    missing.push(CUDA_PROVIDER_LIB);
  }
  for (const lib of REQUIRED_CUDA_LIBS) {
    // Any soname version counts ("libcudart.so.12"); onnxruntime reports a mismatch itself.
    if (!probe.loadableLibraries.some((name) => name === lib || name.startsWith(`${lib}.`))) {
      missing.push(lib);
    }
  }
  return missing;
}

/** Looks at this machine: onnxruntime-node's binding folder and the loader's library search path. */
export function probeCudaSystem(): CudaProbe {
  // LD_LIBRARY_PATH is the dynamic loader's own input, not Tailor configuration: reading it here
  // mirrors what dlopen will see when onnxruntime loads the provider.
  const ldPath = process.env["LD_LIBRARY_PATH"] ?? "";
  return {
    bindingDir: onnxruntimeBindingDir(),
    loadableLibraries: [...ldconfigLibraries(), ...listDirs(ldPath)],
  };
}

function onnxruntimeBindingDir(): string | null {
  try {
    const pkgJson = createRequire(import.meta.url).resolve("onnxruntime-node/package.json");
    const dir = join(dirname(pkgJson), "bin", "napi-v6", process.platform, process.arch);
    return existsSync(dir) ? dir : null;
  } catch {
    return null;
  }
}

function ldconfigLibraries(): string[] {
  for (const bin of ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"]) {
    try {
      const out = execFileSync(bin, ["-p"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 5000,
      });
      const names: string[] = [];
      for (const line of out.split("\n")) {
        const name = line.trim().split(" ", 1)[0];
        if (name?.startsWith("lib")) names.push(name);
      }
      return names;
    } catch {
      // Not on PATH, or not Linux: try the next location, then fall back to LD_LIBRARY_PATH alone.
    }
  }
  return [];
}

function listDirs(pathList: string): string[] {
  const names: string[] = [];
  for (const dir of pathList.split(":")) {
    if (dir.length === 0) continue;
    try {
      names.push(...readdirSync(dir));
    } catch {
      // A stale entry in LD_LIBRARY_PATH is common and harmless.
    }
  }
  return names;
}
