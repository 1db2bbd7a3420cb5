import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICE_SPECS } from "@tailor/config";
import { ROOT } from "@tailor/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const NATS_BIN = [...(process.env["PATH"] ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"]
  .filter(Boolean)
  .map((d) => join(d, "nats-server"))
  .find((p) => existsSync(p));

const read = (p: string) => readFile(join(ROOT, p), "utf8");

/** The block scalar `key: |` of the nats-config ConfigMap, de-indented. */
function configMapFile(yaml: string, key: string): string {
  const lines = yaml.split("\n");
  const start = lines.indexOf(`  ${key}: |`);
  expect(start, key).toBeGreaterThan(-1);
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l !== "" && !l.startsWith("    ")) break;
    out.push(l.slice(4));
  }
  return `${out.join("\n").trimEnd()}\n`;
}

/** Every committed file a deployment reads (compose, Kubernetes, NATS, Docker). */
async function deployFiles(): Promise<string[]> {
  const files = ["docker-compose.yml"];
  for (const dir of ["deploy/k8s", "deploy/nats", "deploy/docker"]) {
    for (const e of await readdir(join(ROOT, dir), { recursive: true, withFileTypes: true }))
      if (e.isFile()) files.push(join(e.parentPath.slice(ROOT.length + 1), e.name));
  }
  return files;
}

const PASSWORD_VARS = [
  ...SERVICE_SPECS.map((s) => `${s.envPrefix}_NATS_PASSWORD`),
  "TAILOR_ADMIN_NATS_PASSWORD",
];

describe("deploy files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tailor-deploy-files-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("the Kubernetes NATS config is the one in deploy/nats", async () => {
    const yaml = await read("deploy/k8s/base/nats.yaml");
    expect(configMapFile(yaml, "authorization.conf")).toBe(
      await read("deploy/nats/authorization.conf"),
    );
    // cluster.conf without its three header comment lines.
    const cluster = (await read("deploy/nats/cluster.conf")).split("\n").slice(3).join("\n");
    expect(configMapFile(yaml, "nats.conf")).toBe(cluster);
  });

  it("every NATS config fsyncs before the ack, keeps monitoring on loopback and has users", async () => {
    for (const f of ["deploy/nats/cluster.conf", "deploy/nats/single.conf"]) {
      const conf = await read(f);
      expect(conf, f).toMatch(/^\s*sync_interval: always$/m);
      expect(conf, f).toMatch(/^http: 127\.0\.0\.1:8222$/m);
      expect(conf, f).toMatch(/^include \.\/authorization\.conf$/m);
    }
  });

  it("commits no password, token or database URL with credentials", async () => {
    const files = await deployFiles();
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = await read(f);
      expect(text, f).not.toMatch(/change-me/i);
      // A literal password in NATS configs (variables are `$NAME`).
      expect(text, f).not.toMatch(/password:\s*(?![$]|\$\{)["']?\w/i);
      // user:password@ in a URL, unless the password is a ${VAR}.
      expect(text, f).not.toMatch(/:\/\/[^/\s:@]+:(?!\$\{)[^@\s]+@/);
      expect(text, f).not.toMatch(/POSTGRES_PASSWORD:\s*(?!\$\{)\w/);
    }
  });

  it.skipIf(!NATS_BIN)("nats-server accepts the configs", async () => {
    const version = execFileSync(NATS_BIN!, ["--version"], { encoding: "utf8" });
    const [, major, minor] = /v(\d+)\.(\d+)/.exec(version) ?? [];
    // sync_interval exists since nats-server 2.10; an older binary checks the rest.
    const old = Number(major) === 2 && Number(minor) < 10;
    await writeFile(join(dir, "authorization.conf"), await read("deploy/nats/authorization.conf"));
    const env = Object.fromEntries(PASSWORD_VARS.map((v) => [v, "pSecret1"]));
    for (const f of ["cluster.conf", "single.conf"]) {
      let conf = (await read(`deploy/nats/${f}`)).replaceAll("/data", join(dir, "data"));
      if (old) conf = conf.replace(/^\s*sync_interval: always$/m, "");
      await writeFile(join(dir, f), conf);
      const r = spawnSync(NATS_BIN!, ["-t", "-c", join(dir, f)], {
        encoding: "utf8",
        env: { ...env, SERVER_NAME: "n0" },
      });
      expect(`${r.stdout}${r.stderr}`, f).toMatch(/configuration file .* is valid/);
      expect(r.status, f).toBe(0);
    }
  });
});
