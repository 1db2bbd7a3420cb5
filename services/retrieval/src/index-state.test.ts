import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { IndexState } from "./index-state.js";

describe("IndexState served versions", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("serves the default unless a tenant is overridden, and keeps the override across a restart", async () => {
    dir = await mkdtemp(join(tmpdir(), "tailor-index-state-"));
    const a = new IndexState(dir);
    await a.open();
    a.defaultVersion = "glove@1";
    await a.setServedVersion("acme", "glove@2");
    expect(a.servedVersion("acme")).toBe("glove@2");
    expect(a.servedVersion("globex")).toBe("glove@1");

    const b = new IndexState(dir);
    await b.open();
    b.defaultVersion = "glove@1";
    expect(b.indexId).toBe(a.indexId);
    expect(b.servedVersion("acme")).toBe("glove@2");
    await b.setServedVersion("acme", "");
    expect(b.servedVersion("acme")).toBe("glove@1");
  });

  it("gives an index of the layout before exact versions a new id, so its stream is replayed", async () => {
    dir = await mkdtemp(join(tmpdir(), "tailor-index-state-"));
    await writeFile(
      join(dir, "state.json"),
      JSON.stringify({ activeVersion: "x", indexId: "old" }),
    );
    const s = new IndexState(dir);
    await s.open();
    expect(s.indexId).not.toBe("old");
    expect(JSON.parse(await readFile(join(dir, "state.json"), "utf8"))).toMatchObject({
      layout: 2,
      indexId: s.indexId,
    });
  });

  it("keeps each tenant's built index versions across a restart, and forgets a dropped one", async () => {
    dir = await mkdtemp(join(tmpdir(), "tailor-index-state-"));
    const a = new IndexState(dir);
    await a.open();
    // Concurrent writes share one file: each must land whole, the last one winning.
    await Promise.all([
      a.putIndexVersion("acme", "ad@1", { status: "building", after: "0a", stale: false }),
      a.putIndexVersion("acme", "ad@2", { status: "live", after: "", stale: false }),
      a.putIndexVersion("globex", "ad@1", { status: "live", after: "", stale: true }),
      a.putIndexVersion("acme", "ad@1", { status: "building", after: "0b", stale: false }),
    ]);
    const b = new IndexState(dir);
    await b.open();
    expect(b.indexId).toBe(a.indexId);
    expect(Object.fromEntries(b.indexVersionsOf("acme"))).toEqual({
      "ad@1": { status: "building", after: "0b", stale: false },
      "ad@2": { status: "live", after: "", stale: false },
    });
    expect(b.indexVersion("globex", "ad@1")?.stale).toBe(true);
    expect(b.indexVersionsOf("initech").size).toBe(0);
    await b.removeIndexVersion("acme", "ad@1");
    await b.removeIndexVersion("globex", "ad@1");
    const c = new IndexState(dir);
    await c.open();
    expect([...c.indexVersionsOf("acme").keys()]).toEqual(["ad@2"]);
    expect(c.indexVersionsOf("globex").size).toBe(0);
  });
});
