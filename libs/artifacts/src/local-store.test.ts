import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeModelFolder } from "@tailor/models/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArtifactExistsError, ArtifactIntegrityError, ArtifactNotFoundError } from "./errors.js";
import { LocalArtifactStore, publishArtifact } from "./local-store.js";
import { MANIFEST_FILE, sha256File } from "./manifest.js";

let root: string;
let src: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tailor-artifacts-"));
  src = join(root, "src");
  await writeModelFolder(src, { kind: "classifier", poolingStyle: "sentence-transformers" });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("LocalArtifactStore", () => {
  it("publishes a folder with a manifest, resolves the newest version and verifies it", async () => {
    const store = join(root, "local");
    const m = await publishArtifact(src, "cls", "2", { root: store });
    await publishArtifact(src, "cls", "10", { root: store });
    expect(m.kind).toBe("classifier");
    expect(Object.keys(m.files)).toContain("1_Pooling/config.json");
    expect(m.files["model.onnx"]).toBe(await sha256File(join(src, "model.onnx")));
    const s = new LocalArtifactStore(store);
    const a = await s.resolve("cls");
    expect(a).toMatchObject({ name: "cls", version: "10", kind: "classifier" });
    expect((await s.resolve("cls", "2")).dir).toBe(join(store, "cls", "2"));
    await expect(publishArtifact(src, "cls", "2", { root: store })).rejects.toThrow(
      ArtifactExistsError,
    );
    await expect(s.resolve("cls", "3")).rejects.toThrow(ArtifactNotFoundError);
    await expect(s.resolve("other")).rejects.toThrow(ArtifactNotFoundError);
  });

  it("names the file that is missing or whose checksum differs", async () => {
    const store = join(root, "bad");
    await publishArtifact(src, "m", "1", { root: store });
    const s = new LocalArtifactStore(store);
    await appendFile(join(store, "m", "1", "tokenizer.json"), "\n");
    const err = await s.resolve("m").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactIntegrityError);
    expect((err as ArtifactIntegrityError).file).toBe("tokenizer.json");
    expect((err as Error).message).toContain("tokenizer.json");

    await rm(join(store, "m", "1", "tokenizer.json"));
    await expect(s.resolve("m")).rejects.toThrow(/tokenizer\.json is listed .* but missing/);
  });

  it("rejects a manifest whose paths leave the folder", async () => {
    const store = join(root, "escape");
    await publishArtifact(src, "m", "1", { root: store });
    const path = join(store, "m", "1", MANIFEST_FILE);
    const manifest = JSON.parse(await readFile(path, "utf8"));
    manifest.files["../../secret"] = "0".repeat(64);
    await writeFile(path, JSON.stringify(manifest));
    await expect(new LocalArtifactStore(store).resolve("m")).rejects.toThrow(/leaves the folder/);
  });
});
