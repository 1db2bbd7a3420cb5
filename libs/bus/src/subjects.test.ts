import { parseSharedConfig } from "@tailor/config";
import { uniquePrefix } from "@tailor/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isPoisonMessageError } from "./errors.js";
import {
  busPrefixProblem,
  InvalidBusPrefixError,
  STREAM_KEYS,
  type StreamKey,
  Subjects,
} from "./subjects.js";

const KEYS: readonly StreamKey[] = STREAM_KEYS;

describe("bus prefixes", () => {
  it("refuses the prefixes that used to share stream PFX_Y_DATA, naming TAILOR_BUS_PREFIX", () => {
    expect(new Subjects("pfx-y").stream("DATA")).toBe("PFX_Y_DATA");
    for (const p of ["pfx_y", "PFX-Y", "Pfx-y", "pfx--y", "-pfx", "pfx-", "a.b", "a b", "data"]) {
      expect(() => new Subjects(p), p).toThrow(InvalidBusPrefixError);
      expect(() => new Subjects(p), p).toThrow(/TAILOR_BUS_PREFIX/);
    }
    expect(busPrefixProblem("")).toBeUndefined();
    expect(busPrefixProblem("a".repeat(33))).toMatch(/longer than 32/);
  });

  it("maps distinct valid prefixes to distinct stream and subject names (property)", () => {
    const word = fc.stringMatching(/^[a-z0-9]{1,6}$/);
    const prefix = fc.oneof(
      fc.constant(""),
      fc.array(word, { minLength: 1, maxLength: 4 }).map((ws) => ws.join("-")),
    );
    const valid = prefix.filter((p) => busPrefixProblem(p) === undefined);
    fc.assert(
      fc.property(valid, valid, (a, b) => {
        fc.pre(a !== b);
        const sa = new Subjects(a);
        const sb = new Subjects(b);
        for (const k of KEYS) for (const l of KEYS) expect(sa.stream(k)).not.toBe(sb.stream(l));
        // No subject of one deployment lies inside the other's wildcards.
        expect(sa.data("t", "s", "upsert").startsWith(sb.all("data").slice(0, -1))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it("is the rule TAILOR_BUS_PREFIX is parsed with (config and bus agree)", () => {
    const samples = fc.sample(
      fc.oneof(
        fc.stringMatching(/^[a-zA-Z0-9_.-]{0,40}$/),
        fc.constantFrom("data", "kv", "obj", "dlq", "a-b-c", "x".repeat(32)),
      ),
      { numRuns: 1000, seed: 7 },
    );
    let accepted = 0;
    for (const p of samples) {
      const bus = busPrefixProblem(p) === undefined;
      let config = true;
      try {
        parseSharedConfig({ TAILOR_BUS_PREFIX: p });
      } catch {
        config = false;
      }
      expect(config, JSON.stringify(p)).toBe(bus);
      if (bus) accepted++;
    }
    expect(accepted).toBeGreaterThan(10);
    expect(accepted).toBeLessThan(samples.length);
  });

  it("accepts what the test suites' prefix generator makes", () => {
    for (const label of ["bus", "e2e", "natsrestart", "Mixed_Case-Label", "srch", ""])
      expect(busPrefixProblem(uniquePrefix(label)), label).toBeUndefined();
  });
});

describe("subject tenants", () => {
  const s = new Subjects("acme-prod");

  it("reads the tenant of a subject under this prefix only", () => {
    expect(s.tenantOf(s.embedding("t1", "ready"), "embedding")).toBe("t1");
    expect(s.tenantOf(s.chunk("t2", "upserted"), "chunk")).toBe("t2");
    expect(s.tenantOf(s.chunk("t2", "upserted"), "embedding")).toBeUndefined();
    expect(s.tenantOf("other.embedding.t1.ready", "embedding")).toBeUndefined();
    expect(s.tenantOf("acme-prod.embedding", "embedding")).toBeUndefined();
  });

  it("refuses a payload naming another tenant as poison, naming both", () => {
    expect(() =>
      s.requireSubjectTenant(s.embedding("acme", "ready"), "embedding", "acme"),
    ).not.toThrow();
    let err: unknown;
    try {
      s.requireSubjectTenant(s.embedding("acme", "ready"), "embedding", "evil");
    } catch (e) {
      err = e;
    }
    expect(isPoisonMessageError(err)).toBe(true);
    expect((err as Error).message).toMatch(/"evil".*"acme"/);
  });
});
