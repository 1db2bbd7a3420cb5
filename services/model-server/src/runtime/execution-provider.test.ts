import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@tailor/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  chooseExecutionProvider,
  missingCudaPieces,
  probeCudaSystem,
} from "./execution-provider.js";

const logger = createLogger("execution-provider-test", "silent");
const CUDA_LIBS = ["libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12"];

let withProvider: string;
beforeAll(async () => {
  withProvider = await mkdtemp(join(tmpdir(), "tailor-ort-bin-"));
  await writeFile(join(withProvider, "libonnxruntime_providers_cuda.so"), "");
});
afterAll(async () => {
  await rm(withProvider, { recursive: true, force: true });
});

describe("chooseExecutionProvider", () => {
  it("returns cuda only when asked and every piece is present", () => {
    const probe = { bindingDir: withProvider, loadableLibraries: CUDA_LIBS };
    expect(chooseExecutionProvider("cuda", logger, probe)).toBe("cuda");
    expect(chooseExecutionProvider("auto", logger, probe)).toBe("cuda");
    expect(chooseExecutionProvider("cpu", logger, probe)).toBe("cpu");
  });

  it("falls back to cpu when onnxruntime has no CUDA provider library", () => {
    const probe = { bindingDir: tmpdir(), loadableLibraries: CUDA_LIBS };
    expect(chooseExecutionProvider("cuda", logger, probe)).toBe("cpu");
    expect(missingCudaPieces(probe)).toEqual(["libonnxruntime_providers_cuda.so"]);
  });

  it("falls back to cpu when the CUDA runtime libraries are not loadable", () => {
    const probe = {
      bindingDir: withProvider,
      loadableLibraries: ["libcudart.so.13", "libcublasLt.so.13"],
    };
    expect(chooseExecutionProvider("auto", logger, probe)).toBe("cpu");
    expect(missingCudaPieces(probe)).toEqual(["libcublas.so"]);
  });

  it("gives a provider this machine's onnxruntime can create", () => {
    const probe = probeCudaSystem();
    const ep = chooseExecutionProvider("auto", logger, probe);
    expect(ep === "cpu" || ep === "cuda").toBe(true);
    // The npm package ships CPU-only binaries unless the CUDA add-on was installed beside them.
    if (missingCudaPieces(probe).length > 0) expect(ep).toBe("cpu");
  });
});
