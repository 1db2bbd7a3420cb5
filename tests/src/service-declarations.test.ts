import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Subjects, streamConfigs } from "@tailor/bus";
import { SERVICE_SPECS, type ServiceSpec, serviceSpec } from "@tailor/config";
import { ROOT } from "@tailor/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";

/** A declared `publishes` entry as its NATS subject pattern: a root means `<root>.>`. */
const publishSubject = (entry: string) => (entry.includes(".") ? entry : `${entry}.>`);

// Every declared service (libs/config/src/services.ts) must appear, as declared, in every deploy
// file; a service added to the declaration but not to compose, Kubernetes or NATS fails here.

type Obj = Record<string, unknown>;
const read = (p: string) => readFile(join(ROOT, p), "utf8");
const obj = (v: unknown): Obj => (v && typeof v === "object" ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const at = (v: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((o, k) => (Array.isArray(o) ? o[k as number] : obj(o)[k]), v);

interface K8sObject {
  kind: string;
  name: string;
  doc: Obj;
}

async function k8sObjects(file: string): Promise<K8sObject[]> {
  return parseAllDocuments(await read(file))
    .map((d) => obj(d.toJS()))
    .filter((d) => typeof d["kind"] === "string")
    .map((d) => ({ kind: String(d["kind"]), name: String(at(d, "metadata", "name")), doc: d }));
}

/** `{ name, value }` or `{ name, valueFrom }` entries of a container's env, by name. */
function envOf(container: unknown): Map<string, Obj> {
  return new Map(arr(at(container, "env")).map((e) => [String(at(e, "name")), obj(e)]));
}

/** The `podSelector` names a rule's `from`/`to` peers select. */
function peerNames(rule: unknown, side: "from" | "to"): string[] {
  return arr(at(rule, side)).flatMap((peer) => {
    const label = at(peer, "podSelector", "matchLabels", "app.kubernetes.io/name");
    const exprs = arr(at(peer, "podSelector", "matchExpressions"))
      .filter((x) => at(x, "key") === "app.kubernetes.io/name" && at(x, "operator") === "In")
      .flatMap((x) => arr(at(x, "values")).map(String));
    return [...(label === undefined ? [] : [String(label)]), ...exprs];
  });
}

const portsOf = (rule: unknown) => arr(at(rule, "ports")).map((p) => Number(at(p, "port")));

describe("service declarations", () => {
  let compose: Obj;
  let k8s: K8sObject[];
  let kustomization: Obj;
  let config: Obj;
  let authorization: string;
  let secretsScript: string;
  let genEnv: string;
  let readme: string;

  beforeAll(async () => {
    compose = obj(parse(await read("docker-compose.yml"), { merge: true }));
    const base = "deploy/k8s/base";
    kustomization = obj(parse(await read(`${base}/kustomization.yaml`)));
    k8s = [];
    for (const f of arr(kustomization["resources"]).map(String))
      k8s.push(...(await k8sObjects(`${base}/${f}`)));
    config = obj(k8s.find((o) => o.kind === "ConfigMap" && o.name === "tailor-config")?.doc);
    authorization = await read("deploy/nats/authorization.conf");
    secretsScript = await read("deploy/k8s/create-secrets.sh");
    genEnv = await read("deploy/docker/gen-env.sh");
    readme = await read("README.md");
  });

  const find = (kind: string | string[], name: string) => {
    const kinds = Array.isArray(kind) ? kind : [kind];
    const o = k8s.find((x) => kinds.includes(x.kind) && x.name === name);
    expect(o, `${kinds.join("/")} ${name} in deploy/k8s/base`).toBeDefined();
    return o?.doc ?? {};
  };

  it("declares every service folder and nothing else", async () => {
    const folders = (await readdir(join(ROOT, "services"), { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.sort()).toEqual(SERVICE_SPECS.map((s) => s.name).sort());
    for (const s of SERVICE_SPECS) expect(existsSync(join(ROOT, s.entry)), s.entry).toBe(true);
  });

  it("consumes and publishes only declared streams", () => {
    const streams = streamConfigs(new Subjects(), { replicas: 1, duplicateWindowMs: 1 });
    const subjects = Object.values(streams).flatMap((c) => c.subjects ?? []);
    for (const s of SERVICE_SPECS) {
      for (const c of s.consumes) expect(Object.keys(streams), s.name).toContain(c.stream);
      for (const r of s.publishes)
        expect(subjects, s.name).toContain(`${publishSubject(r).split(".")[0]}.>`);
    }
  });

  describe.each(SERVICE_SPECS.map((s) => [s.name, s] as const))("%s", (name, s: ServiceSpec) => {
    it("has a row in the README's table of services", () => {
      expect(readme).toMatch(new RegExp(`^\\| ${name} +\\| ${s.port} \\|`, "m"));
    });

    it("is a docker-compose service with its own NATS user", () => {
      const svc = obj(at(compose, "services", name));
      const env = obj(svc["environment"]);
      expect(env["SERVICE"], "SERVICE").toBe(name);
      expect(env["TAILOR_NATS_USER"]).toBe(name);
      expect(String(env["TAILOR_NATS_PASSWORD"])).toMatch(
        new RegExp(`^\\$\\{${s.envPrefix}_NATS_PASSWORD:\\?`),
      );
      expect(Object.keys(obj(at(compose, "services", "nats", "environment")))).toContain(
        `${s.envPrefix}_NATS_PASSWORD`,
      );
      const ports = arr(svc["ports"]).map(String);
      if (s.clientFacing) expect(ports).toContain(`${s.port}:${s.port}`);
      for (const p of ports) expect(p).toBe(`${s.port}:${s.port}`);
      const dependsOn = arr(svc["depends_on"]).map(String);
      expect(dependsOn).toContain("nats");
      if (s.database) expect(dependsOn).toContain("postgres");
      for (const d of s.dependsOn.map(serviceSpec)) {
        expect(dependsOn).toContain(d.name);
        expect(env[d.urlVar], d.urlVar).toBe(`http://${d.name}:${d.port}`);
      }
    });

    it("is a Kubernetes Service and workload on its port with its own NATS user", () => {
      expect(arr(kustomization["resources"])).toContain(`${name}.yaml`);
      const service = find("Service", name);
      expect(at(service, "spec", "selector", "app.kubernetes.io/name")).toBe(name);
      expect(at(service, "spec", "ports", 0, "port")).toBe(s.port);
      const workload = find(["Deployment", "StatefulSet"], name);
      const containers = arr(at(workload, "spec", "template", "spec", "containers"));
      const c = containers.find((x) => at(x, "name") === name);
      expect(c, `container ${name}`).toBeDefined();
      const env = envOf(c);
      expect(env.get("SERVICE")?.["value"]).toBe(name);
      expect(env.get("TAILOR_NATS_USER")?.["value"]).toBe(name);
      expect(at(env.get("TAILOR_NATS_PASSWORD"), "valueFrom", "secretKeyRef")).toEqual({
        name: "tailor-nats",
        key: name,
      });
      expect(at(env.get("TAILOR_DATABASE_URL"), "valueFrom", "secretKeyRef")).toEqual(
        s.database ? { name: "tailor-postgres", key: "url" } : undefined,
      );
      expect(at(c, "ports", 0, "containerPort")).toBe(s.port);
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"])
        expect(at(c, probe, "grpc", "port"), probe).toBe(s.port);
      for (const d of s.dependsOn.map(serviceSpec))
        expect(obj(config["data"])[d.urlVar], d.urlVar).toBe(`http://${d.name}:${d.port}`);
      find("PodDisruptionBudget", name);
      expect(secretsScript).toContain(`--from-literal=${name}="$(secret)"`);
    });

    it("has a NetworkPolicy that opens exactly its declared paths", () => {
      const policy = find("NetworkPolicy", name);
      expect(at(policy, "spec", "podSelector", "matchLabels", "app.kubernetes.io/name")).toBe(name);
      const egress = arr(at(policy, "spec", "egress"));
      const reaches = (peer: string, port: number) =>
        egress.some((r) => peerNames(r, "to").includes(peer) && portsOf(r).includes(port));
      expect(reaches("nats", 4222), "egress to nats:4222").toBe(true);
      for (const d of s.dependsOn.map(serviceSpec)) {
        expect(reaches(d.name, d.port), `egress to ${d.name}:${d.port}`).toBe(true);
        const theirs = arr(at(find("NetworkPolicy", d.name), "spec", "ingress"));
        expect(
          theirs.some((r) => peerNames(r, "from").includes(name) && portsOf(r).includes(d.port)),
          `${d.name} lets ${name} in`,
        ).toBe(true);
      }
      expect(egress.some((r) => portsOf(r).includes(5432))).toBe(s.database);
      const ingress = arr(at(policy, "spec", "ingress"));
      const fromAnyNamespace = ingress.some(
        (r) =>
          arr(at(r, "from")).some((p) => at(p, "namespaceSelector") !== undefined) &&
          portsOf(r).includes(s.port),
      );
      expect(fromAnyNamespace, "ingress from clients").toBe(s.clientFacing);
      const natsIngress = arr(at(find("NetworkPolicy", "nats"), "spec", "ingress"));
      expect(natsIngress.some((r) => peerNames(r, "from").includes(name))).toBe(true);
    });

    it("is a NATS user allowed to publish exactly its declared subjects", () => {
      const perms = s.envPrefix.replace(/^TAILOR_/, "");
      expect(authorization).toContain(
        `{ user: ${name}, password: $${s.envPrefix}_NATS_PASSWORD, permissions: $${perms} }`,
      );
      const block = new RegExp(`^${perms} = \\{\\n([\\s\\S]*?)\\n\\}$`, "m").exec(authorization);
      expect(block, `${perms} in authorization.conf`).not.toBeNull();
      const allow = /allow: \[([^\]]*)\]/.exec(block?.[1] ?? "")?.[1] ?? "";
      const subjects = [...allow.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? "");
      expect(subjects.length).toBeGreaterThan(0);
      expect(subjects.filter((x) => !x.startsWith("$") && !x.startsWith("_INBOX")).sort()).toEqual(
        s.publishes.map(publishSubject).sort(),
      );
      expect(genEnv).toMatch(new RegExp(`^${s.envPrefix}_NATS_PASSWORD=\\$\\(secret\\)$`, "m"));
    });
  });

  it("runs no service in compose or Kubernetes that is not declared", () => {
    const declared = SERVICE_SPECS.map((s) => s.name);
    const composeRuns = Object.values(obj(compose["services"]))
      .map((svc) => at(svc, "environment", "SERVICE"))
      .filter((x) => x !== undefined);
    expect(composeRuns.length).toBe(declared.length);
    const k8sRuns = k8s
      .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
      .flatMap((o) => arr(at(o.doc, "spec", "template", "spec", "containers")))
      .map((c) => envOf(c).get("SERVICE")?.["value"])
      .filter((x) => x !== undefined);
    expect(k8sRuns.length).toBe(declared.length);
    for (const n of [...composeRuns, ...k8sRuns]) expect(declared).toContain(n);
  });
});
