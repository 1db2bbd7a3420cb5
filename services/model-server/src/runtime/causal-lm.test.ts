import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LlamaFolder, LlamaReference, writeLlamaFolder } from "@tailor/models/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CausalLm,
  type FinishReason,
  type GenerationEvent,
  type GenerationParams,
  GenerationQueueFullError,
  type GenerationUsage,
} from "./causal-lm.js";

interface Collected {
  text: string;
  ids: number[];
  deltas: string[];
  finish: FinishReason | undefined;
  usage: GenerationUsage | undefined;
}

async function collect(
  stream: AsyncIterable<GenerationEvent>,
  onEvent?: (c: Collected) => void,
): Promise<Collected> {
  const c: Collected = { text: "", ids: [], deltas: [], finish: undefined, usage: undefined };
  for await (const e of stream) {
    if ("delta" in e) {
      c.text += e.delta;
      c.ids.push(...e.tokenIds);
      c.deltas.push(e.delta);
    } else {
      expect(c.finish).toBeUndefined();
      c.finish = e.finish;
      c.usage = e.usage;
    }
    onEvent?.(c);
  }
  return c;
}

const PROMPTS = ["Once upon a time", "The quick brown fox", "Café crème and 日本語"];
const GREEDY: Partial<GenerationParams> = { maxTokens: 20, temperature: 0 };

let root: string;
let folder: LlamaFolder;
let lm: CausalLm;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-causal-lm-"));
  folder = await writeLlamaFolder({
    dir: join(root, "tiny-llama"),
    model: {
      layers: 2,
      hidden: 64,
      heads: 4,
      kvHeads: 2,
      intermediate: 128,
      maxPositions: 256,
      ropeTheta: 10000,
      seed: 3,
    },
  });
  lm = await CausalLm.load(folder.dir, {
    intraOpThreads: 1,
    maxConcurrentStreams: 3,
    maxQueuedStreams: 1,
  });
});

afterAll(async () => {
  await lm?.close();
  await rm(root, { recursive: true, force: true });
});

describe("CausalLm", () => {
  it("loads the folder's metadata and round-trips text through its tokenizer", () => {
    expect(lm.name).toBe("tiny-llama");
    expect(lm.version).toMatch(/^[0-9a-f]{12}$/);
    expect(lm.memoryBytes).toBeGreaterThan(folder.modelBytes);
    for (const text of ["hello world", "Grüße aus Köln 🙂 日本語"]) {
      const ids = lm.tokenize(text);
      expect(ids[0]).toBe(folder.bosTokenId);
      expect(lm.detokenize(ids)).toBe(text);
    }
  });

  it("decodes greedily with the KV cache exactly as the reference does, then stops at maxTokens", async () => {
    const reference = new LlamaReference(folder.weights);
    for (const prompt of PROMPTS) {
      const got = await collect(lm.generate(prompt, GREEDY));
      expect(got.ids).toEqual(reference.greedy(lm.tokenize(prompt), 20));
      expect(got.finish).toBe("length");
      expect(got.usage).toEqual({ promptTokens: lm.tokenize(prompt).length, completionTokens: 20 });
      // Bytes of an unfinished character at the very end are dropped, not sent as U+FFFD.
      const strip = (t: string) => t.replace(/\uFFFD+$/u, "");
      expect(strip(got.text)).toBe(strip(lm.detokenize(got.ids)));
    }
  });

  it("batches concurrent streams without changing any of them", async () => {
    const alone: Collected[] = [];
    for (const p of PROMPTS) alone.push(await collect(lm.generate(p, { maxTokens: 30 })));
    let peak = 0;
    const together = await Promise.all(
      PROMPTS.map((p) =>
        collect(lm.generate(p, { maxTokens: 30 }), () => {
          peak = Math.max(peak, lm.activeStreams);
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(together.map((c) => c.ids)).toEqual(alone.map((c) => c.ids));
    expect(together.map((c) => c.text)).toEqual(alone.map((c) => c.text));
    expect(lm.activeStreams).toBe(0);
  });

  it("reproduces sampled text from a seed and varies it across seeds", async () => {
    const params = {
      maxTokens: 24,
      temperature: 0.9,
      topK: 50,
      topP: 0.95,
      repetitionPenalty: 1.1,
    };
    const a = await collect(lm.generate(PROMPTS[0]!, { ...params, seed: 11 }));
    const b = await collect(lm.generate(PROMPTS[0]!, { ...params, seed: 11 }));
    const c = await collect(lm.generate(PROMPTS[0]!, { ...params, seed: 12 }));
    expect(b.ids).toEqual(a.ids);
    expect(b.text).toBe(a.text);
    expect(c.ids).not.toEqual(a.ids);
    const greedy = await collect(lm.generate(PROMPTS[0]!, { maxTokens: 24 }));
    expect(a.ids).not.toEqual(greedy.ids);
  });

  it("cuts at a stop sequence and never sends any of it", async () => {
    const full = await collect(lm.generate(PROMPTS[1]!, { maxTokens: 40 }));
    // A 3-character stop taken from the middle of the greedy text: the output must end right before it.
    const from = Math.floor(full.text.length / 2);
    const stop = full.text.slice(from, from + 3);
    const cut = full.text.indexOf(stop);
    const got = await collect(
      lm.generate(PROMPTS[1]!, { maxTokens: 40, stop: ["\u0000never", stop] }),
    );
    expect(got.finish).toBe("stop_sequence");
    expect(got.text).toBe(full.text.slice(0, cut));
    expect(got.deltas.join("")).not.toContain(stop);
    expect(got.ids).toEqual(full.ids.slice(0, got.ids.length));
    expect(got.usage!.completionTokens).toBeLessThan(40);
  });

  it("ends with finish 'stop' on an EOS token", async () => {
    const greedy = await collect(lm.generate(PROMPTS[2]!, { maxTokens: 12 }));
    // Declare the greedy path's 6th token an extra EOS id, as Llama 3 folders list several.
    const index = greedy.ids.findIndex((id, i) => i >= 5 && !greedy.ids.slice(0, i).includes(id));
    expect(index).toBeGreaterThanOrEqual(5);
    const eos = greedy.ids[index]!;
    const dir = join(root, "tiny-llama-eos");
    await cp(folder.dir, dir, { recursive: true });
    const genPath = join(dir, "generation_config.json");
    const gen = JSON.parse(await readFile(genPath, "utf8")) as Record<string, unknown>;
    await writeFile(genPath, JSON.stringify({ ...gen, eos_token_id: [folder.eosTokenId, eos] }));
    const lm2 = await CausalLm.load(dir, { intraOpThreads: 1 });
    try {
      const got = await collect(lm2.generate(PROMPTS[2]!, { maxTokens: 12 }));
      expect(got.finish).toBe("stop");
      expect(got.usage!.completionTokens).toBe(index + 1);
      expect(got.ids.slice(0, index)).toEqual(greedy.ids.slice(0, index));
      expect(got.text).toBe(greedy.text.slice(0, got.text.length));
      expect(got.ids.slice(0, index)).toEqual(greedy.ids.slice(0, index));
    } finally {
      await lm2.close();
    }
  });

  it("drops an aborted stream from the batch, frees its slot, and leaves the others intact", async () => {
    const params = { maxTokens: 60 };
    const alone: Collected[] = [];
    for (const p of PROMPTS) alone.push(await collect(lm.generate(p, params)));
    const controller = new AbortController();
    const a = collect(lm.generate(PROMPTS[0]!, params));
    let abortedAt = -1;
    const b = collect(lm.generate(PROMPTS[1]!, params, controller.signal), (c) => {
      if (c.ids.length >= 5 && abortedAt === -1) {
        abortedAt = c.ids.length;
        controller.abort();
      }
    });
    const c = collect(lm.generate(PROMPTS[2]!, params));
    // Three active, so a fourth waits and a fifth is refused.
    const d = collect(lm.generate(PROMPTS[0]!, { maxTokens: 5 }));
    expect(lm.queueDepth).toBe(1);
    expect(() => lm.generate(PROMPTS[0]!, params)).toThrow(GenerationQueueFullError);
    try {
      lm.generate(PROMPTS[0]!, params);
    } catch (err) {
      expect(err).toMatchObject({ name: "GenerationQueueFullError", code: "queue_full" });
    }

    await expect(b).rejects.toMatchObject({ name: "AbortError" });
    const [ra, rc, rd] = await Promise.all([a, c, d]);
    expect(abortedAt).toBe(5);
    // The aborted slot went to the queued stream while the others were still decoding.
    expect(rd.finish).toBe("length");
    expect(rd.ids).toEqual(alone[0]!.ids.slice(0, 5));
    expect(ra.ids).toEqual(alone[0]!.ids);
    expect(rc.ids).toEqual(alone[2]!.ids);
    expect(ra.text).toBe(alone[0]!.text);
    expect(lm.activeStreams).toBe(0);
    expect(lm.queueDepth).toBe(0);
  });

  it("lets the queued stream in as soon as the aborted one leaves", async () => {
    const long = { maxTokens: 80 };
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const finishedAt: string[] = [];
    const runs = PROMPTS.map((p, i) =>
      collect(lm.generate(p, long, controllers[i]!.signal)).then(
        () => finishedAt.push(`s${i}`),
        () => finishedAt.push(`s${i}-aborted`),
      ),
    );
    const queued = collect(lm.generate(PROMPTS[0]!, { maxTokens: 3 })).then(() =>
      finishedAt.push("queued"),
    );
    expect(lm.queueDepth).toBe(1);
    controllers[1]!.abort();
    await queued;
    // The queued 3-token stream finished while the two 80-token streams still ran.
    expect(finishedAt).toEqual(["s1-aborted", "queued"]);
    await Promise.all(runs);
  });
});
