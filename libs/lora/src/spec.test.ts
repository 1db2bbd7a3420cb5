import { create } from "@bufbuild/protobuf";
import { type LoraJobSpec, LoraJobSpecSchema, ObjectRefSchema } from "@tailor/proto";
import { isFieldError } from "@tailor/service";
import { describe, expect, it } from "vitest";
import { parseLoraDataset } from "./dataset.js";
import { isLoraJobError } from "./errors.js";
import { shuffledOrder } from "./lora-info.js";
import { statusMsgId } from "./protocol.js";
import { checkLoraSpec, loraArtifactVersion, loraSpecDigest, loraSpecProblem } from "./spec.js";

const good = (over: Partial<LoraJobSpec> = {}): LoraJobSpec =>
  create(LoraJobSpecSchema, {
    tenant: "acme",
    job: "j1",
    baseModel: "tiny-llama@1",
    dataset: create(ObjectRefSchema, {
      bucket: "datasets",
      name: "acme/train.jsonl",
      size: 10n,
      sha256: "a".repeat(64),
    }),
    rank: 8,
    alpha: 16,
    targetModules: ["q_proj", "v_proj"],
    steps: 100,
    learningRate: 1e-4,
    seed: 1n,
    outputName: "acme-chat",
    ...over,
  });

describe("LoRA job spec validation", () => {
  it("accepts a complete spec", () => {
    expect(loraSpecProblem(good())).toBeUndefined();
  });

  it.each<[Partial<LoraJobSpec>, string]>([
    [{ tenant: "a.b" }, "tenant"],
    [{ job: "" }, "job"],
    [{ job: "x>" }, "job"],
    [{ baseModel: "tiny-llama" }, "base_model"],
    [{ baseModel: "../x@1" }, "base_model"],
    [{ baseModel: "a@1\u0000" }, "base_model"],
    [{ dataset: undefined }, "dataset"],
    [
      {
        dataset: create(ObjectRefSchema, {
          bucket: "d.x",
          name: "acme/t",
          size: 1n,
          sha256: "a".repeat(64),
        }),
      },
      "dataset.bucket",
    ],
    [
      {
        dataset: create(ObjectRefSchema, {
          bucket: "d",
          name: "globex/t",
          size: 1n,
          sha256: "a".repeat(64),
        }),
      },
      "dataset.name",
    ],
    [
      {
        dataset: create(ObjectRefSchema, {
          bucket: "d",
          name: "acme/",
          size: 1n,
          sha256: "a".repeat(64),
        }),
      },
      "dataset.name",
    ],
    [
      {
        dataset: create(ObjectRefSchema, {
          bucket: "d",
          name: "acme/t",
          size: 0n,
          sha256: "a".repeat(64),
        }),
      },
      "dataset.size",
    ],
    [
      {
        dataset: create(ObjectRefSchema, { bucket: "d", name: "acme/t", size: 1n, sha256: "xyz" }),
      },
      "dataset.sha256",
    ],
    [{ rank: 0 }, "rank"],
    [{ rank: 257 }, "rank"],
    [{ alpha: 0 }, "alpha"],
    [{ alpha: Number.POSITIVE_INFINITY }, "alpha"],
    [{ targetModules: [] }, "target_modules"],
    [{ targetModules: ["q_proj", "attn"] }, "target_modules[1]"],
    [{ targetModules: ["q_proj", "q_proj"] }, "target_modules[1]"],
    [{ steps: 0 }, "steps"],
    [{ steps: 1_000_001 }, "steps"],
    [{ learningRate: 0 }, "learning_rate"],
    [{ learningRate: Number.NaN }, "learning_rate"],
    [{ outputName: "" }, "output_name"],
    [{ outputName: "a/b" }, "output_name"],
  ])("refuses %o naming %s", (over, field) => {
    expect(loraSpecProblem(good(over))?.field).toBe(field);
    try {
      checkLoraSpec(good(over));
      expect.unreachable();
    } catch (err) {
      expect(isFieldError(err) && err.message.startsWith(`${field}: `)).toBe(true);
    }
  });

  it("names outputs and statuses by tenant and job, one-to-one", () => {
    expect(loraArtifactVersion("acme", "j1")).toBe("lora-acme.j1");
    expect(statusMsgId("acme", "j1", "running", 20)).toBe("lora:acme:j1:running:20");
    expect(statusMsgId("acme", "j1", "succeeded", 20)).toBe("lora:acme:j1:succeeded");
    expect(loraSpecDigest(good())).toBe(
      loraSpecDigest(good({ targetModules: ["v_proj", "q_proj"] })),
    );
    expect(loraSpecDigest(good())).not.toBe(loraSpecDigest(good({ steps: 101 })));
  });

  it("visits every example once per epoch, the same way for the same seed", () => {
    const a = shuffledOrder(5, 9n, 12);
    expect([...a.subarray(0, 5)].sort()).toEqual([0, 1, 2, 3, 4]);
    expect([...a.subarray(5, 10)].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(a).toEqual(shuffledOrder(5, 9n, 12));
  });
});

describe("LoRA dataset parsing", () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it("reads JSONL examples, skipping blank lines, keeping line numbers", () => {
    const rows = parseLoraDataset(
      enc('{"prompt":"a","completion":"b"}\r\n\n{"prompt":"c","completion":"d","x":1}\n'),
    );
    expect(rows).toEqual([
      { prompt: "a", completion: "b", line: 1 },
      { prompt: "c", completion: "d", line: 3 },
    ]);
  });

  it.each([
    ['{"prompt":"a","completion":"b"}\nnot json\n', "dataset line 2: is not a JSON object"],
    ['{"prompt":"a","completion":"b"}\n[1]\n', "dataset line 2: is not a JSON object"],
    ['{"prompt":"a"}\n', "dataset line 1: completion: must be a string"],
    ['{"prompt":"a","completion":"b\\u0000"}\n', "dataset line 1: completion: holds a NUL"],
    ['{"prompt":" ","completion":"b"}\n', "dataset line 1: prompt: is required"],
    ["\n\n", "dataset: holds no examples"],
  ])("refuses %j with %s", (text, message) => {
    try {
      parseLoraDataset(enc(text));
      expect.unreachable();
    } catch (err) {
      expect(isLoraJobError(err) && err.message.startsWith(message), String(err)).toBe(true);
    }
  });

  it("refuses invalid UTF-8 and too many examples", () => {
    expect(() => parseLoraDataset(new Uint8Array([0xff, 0xfe]))).toThrow(
      "dataset: is not valid UTF-8",
    );
    const two = enc('{"prompt":"a","completion":"b"}\n{"prompt":"a","completion":"b"}\n');
    expect(() =>
      parseLoraDataset(two, { maxBytes: 1000, maxExamples: 1, maxLineBytes: 100 }),
    ).toThrow("dataset: holds more than 1 examples");
  });
});
