import { describe, expect, it } from "vitest";
import {
  defaultPorts,
  SERVICE_SPECS,
  serviceEnvPrefix,
  serviceSpec,
  startOrder,
  stopOrder,
} from "./services.js";

describe("service declarations", () => {
  it("give each service its own name and port", () => {
    const names = SERVICE_SPECS.map((s) => s.name);
    const ports = SERVICE_SPECS.map((s) => s.port);
    expect(names.length).toBeGreaterThanOrEqual(4);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(ports).size).toBe(ports.length);
    for (const n of names) expect(n).toMatch(/^[a-z]+(-[a-z]+)*$/);
  });

  it("derive the variable names and the entry point", () => {
    expect(serviceEnvPrefix("model-server")).toBe("TAILOR_MODEL_SERVER");
    const m = serviceSpec("model-server");
    expect(m.portVar).toBe("TAILOR_MODEL_SERVER_PORT");
    expect(m.urlVar).toBe("TAILOR_MODEL_SERVER_URL");
    expect(m.entry).toBe("services/model-server/src/main.ts");
  });

  it("keep the default ports", () => {
    expect(defaultPorts).toMatchObject({
      ingestion: 7101,
      embedding: 7102,
      retrieval: 7103,
      modelServer: 7104,
    });
  });

  it("start dependencies first and stop them last", () => {
    const start = startOrder();
    const stop = stopOrder();
    // The data path: its providers (model-server, ingestion) before its consumers.
    const dataPath = start.filter((n) =>
      ["model-server", "ingestion", "embedding", "retrieval"].includes(n),
    );
    expect(dataPath.slice(0, 2).sort()).toEqual(["ingestion", "model-server"]);
    expect(stop.indexOf("model-server")).toBeGreaterThan(stop.indexOf("embedding"));
    expect(stop.indexOf("ingestion")).toBeGreaterThan(stop.indexOf("retrieval"));
    expect([...start].sort()).toEqual(SERVICE_SPECS.map((s) => s.name).sort());
    expect([...stop].sort()).toEqual([...start].sort());
    const withDeps = SERVICE_SPECS.filter((s) => s.dependsOn.length > 0);
    expect(withDeps.length).toBeGreaterThan(0);
    for (const s of withDeps) {
      for (const d of s.dependsOn) {
        expect(start.indexOf(d)).toBeLessThan(start.indexOf(s.name));
        expect(stop.indexOf(d)).toBeGreaterThan(stop.indexOf(s.name));
      }
    }
  });
});
