import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { plantAttack, readInjectionCorpus, splitInjectionCorpus } from "./dataset.js";

let dir: string;

async function write(o: { text?: string; code?: string; emails?: string } = {}) {
  const attacks = (p: string) =>
    JSON.stringify({ A: [1, 2, 3, 4, 5].map((i) => `${p} attack ${i}`) });
  await writeFile(join(dir, "text_attack_train.json"), o.text ?? attacks("text"));
  await writeFile(join(dir, "code_attack_train.json"), o.code ?? attacks("code"));
  const mails = Array.from({ length: 5 }, (_, i) =>
    JSON.stringify({ context: `line one ${i}\nline two ${i}`, question: `Q: what ${i}?` }),
  );
  await writeFile(join(dir, "email_train.jsonl"), o.emails ?? `${mails.join("\n")}\n`);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "injection-data-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("readInjectionCorpus", () => {
  it("reads attacks by family and category, and the e-mails", async () => {
    await write();
    const c = await readInjectionCorpus(dir);
    expect(c.attacks.map((a) => `${a.family}/${a.category}/${a.items.length}`)).toEqual([
      "text/A/5",
      "code/A/5",
    ]);
    expect(c.emails).toHaveLength(5);
  });

  it("names the file and line of what it cannot use", async () => {
    await write({ code: "{not json" });
    await expect(readInjectionCorpus(dir)).rejects.toThrow(/^code_attack_train\.json: not JSON/);
    await write({ text: JSON.stringify({ A: ["ok", 3] }) });
    await expect(readInjectionCorpus(dir)).rejects.toThrow(/category "A" is not a list of texts/);
    await write({ emails: '{"context":"c","question":"q"}\n{"context":1}\n' });
    await expect(readInjectionCorpus(dir)).rejects.toThrow(/email_train\.jsonl line 2: needs/);
    await rm(join(dir, "email_train.jsonl"));
    await expect(readInjectionCorpus(dir)).rejects.toThrow(/ENOENT/);
  });
});

describe("splitInjectionCorpus", () => {
  it("is fixed by the seed; held-out attacks never train and are planted three ways", async () => {
    await write();
    const c = await readInjectionCorpus(dir);
    const a = splitInjectionCorpus(c, 7);
    expect(splitInjectionCorpus(c, 7)).toEqual(a);
    expect(splitInjectionCorpus(c, 8).heldOutAttacks).not.toEqual(a.heldOutAttacks);
    const trained = new Set(a.train.map((e) => e.text));
    expect(a.heldOutAttacks).toHaveLength(4);
    for (const h of a.heldOutAttacks) expect(trained.has(h.text)).toBe(false);
    expect(a.positives).toHaveLength(12);
    expect(a.positives.every((p) => p.mode === "indirect")).toBe(true);
    expect(a.negatives.filter((n) => n.mode === "direct")).toHaveLength(2);
  });

  it("plants at the start, at a line break in the middle, and at the end", () => {
    expect(plantAttack("a\nb", "X", 0)).toBe("X\na\nb");
    expect(plantAttack("a\nb", "X", 1)).toBe("a\nX\nb");
    expect(plantAttack("a\nb", "X", 2)).toBe("a\nb\nX");
  });
});
