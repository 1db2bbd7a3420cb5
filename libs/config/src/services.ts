/**
 * Every Tailor service, declared once. The local launcher (start and stop order, ports, the
 * variables it sets), the test harness (ports, which consumers and outboxes to wait for) and
 * `defaultPorts` (so the CLI's and each service's defaults) derive from this list.
 *
 * A new service is one entry here plus its folder `services/<name>/` (`src/main.ts`, reading
 * `TAILOR_<NAME>_PORT` with default `defaultPorts.<name>`). Deploy files are written by hand
 * (each has its own resources, volumes and policies), so tests/src/service-declarations.test.ts
 * fails, naming what is missing, until docker-compose.yml, deploy/k8s/base (Service, workload,
 * NetworkPolicy, PodDisruptionBudget, kustomization), deploy/nats/authorization.conf, the secret
 * scripts and the README's table of services carry it as declared.
 */
export const SERVICE_DECLARATIONS = [
  {
    name: "ingestion",
    port: 7101,
    description: "takes documents (RPC or data.> events), stores them and publishes their chunks",
    consumes: [{ stream: "DATA", durable: "ingestion" }],
    publishes: ["chunk", "dlq"],
    dependsOn: [],
    database: true,
    outbox: "ingestion.outbox",
    clientFacing: true,
  },
  {
    name: "embedding",
    port: 7102,
    description: "embeds chunks through the model-server and publishes their vectors",
    consumes: [{ stream: "CHUNK", durable: "embedding" }],
    publishes: ["embedding", "dlq"],
    dependsOn: ["model-server"],
    database: false,
    clientFacing: false,
  },
  {
    name: "retrieval",
    port: 7103,
    description: "indexes vectors and answers searches",
    // One durable per index, `retrieval-<index id>`.
    consumes: [{ stream: "EMBEDDING", durable: "retrieval" }],
    publishes: ["dlq"],
    dependsOn: ["model-server", "registry", "ingestion"],
    database: false,
    clientFacing: true,
  },
  {
    name: "model-server",
    port: 7104,
    description: "runs the models (Embed, ListModels, LoadModel, UnloadModel)",
    consumes: [],
    publishes: ["dlq"],
    dependsOn: [],
    database: false,
    clientFacing: false,
  },
  {
    name: "registry",
    port: 7105,
    description:
      "keeps each tenant's models, immutable versions, aliases and lineage (RegistryService)",
    consumes: [],
    publishes: ["model", "dlq"],
    dependsOn: [],
    database: true,
    outbox: "registry.outbox",
    clientFacing: true,
  },
  {
    name: "trainer",
    port: 7106,
    description:
      "runs training jobs (reranker, retrieval-params, adapter, guard) and registers candidate versions",
    consumes: [{ stream: "TRAINING", durable: "trainer" }],
    publishes: ["training", "model", "lora.*.submitted", "dlq"],
    dependsOn: ["registry", "evaluator", "retrieval", "ingestion", "model-server"],
    database: true,
    outbox: "trainer.outbox",
    clientFacing: true,
  },
  {
    name: "evaluator",
    port: 7107,
    description:
      "scores versions on eval sets, gates candidates against champions and asks for retraining",
    consumes: [
      { stream: "MODEL", durable: "evaluator" },
      { stream: "FEEDBACK", durable: "evaluator" },
    ],
    publishes: ["eval", "training", "dlq"],
    dependsOn: ["registry", "retrieval"],
    database: true,
    outbox: "evaluator.outbox",
    clientFacing: true,
  },
  {
    name: "guard",
    port: 7108,
    description:
      "checks questions, answers and ingested chunks for PII, injected instructions and policy (GuardService)",
    consumes: [{ stream: "CHUNK", durable: "guard" }],
    publishes: ["guard", "dlq"],
    // Each tenant's trained injection classifier is found through the registry.
    dependsOn: ["registry"],
    database: true,
    outbox: "guard.outbox",
    clientFacing: true,
  },
  {
    name: "inference-gateway",
    port: 7100,
    description:
      "the API backend teams call: Ask, Chat, Search, feedback and an OpenAI-compatible surface, behind API keys, limits and the guard",
    consumes: [],
    publishes: ["interaction", "feedback", "guard", "dlq"],
    dependsOn: ["retrieval", "guard", "registry", "model-server"],
    database: true,
    outbox: "gateway.outbox",
    clientFacing: true,
  },
] as const satisfies readonly ServiceDeclaration[];

/** What one service declares; the fields in {@link ServiceSpec} follow from it. */
export interface ServiceDeclaration {
  /** Folder under services/, process, compose service, Kubernetes objects and NATS user. */
  name: string;
  /** Its one HTTP/2 port (Connect, gRPC, gRPC-Web and grpc.health.v1) by default. */
  port: number;
  description: string;
  /** JetStream streams (keys of libs/bus streamConfigs) it consumes, with its durable's name. */
  consumes: readonly { stream: string; durable: string }[];
  /**
   * What it may publish (its NATS user's allow list): a subject root (`<root>.>`) or, where only
   * part of a root is its to publish, that subject pattern (`lora.*.submitted`).
   */
  publishes: readonly string[];
  /** Services it calls: started before it, stopped after it, reachable through its network policy. */
  dependsOn: readonly string[];
  /** Reads and writes PostgreSQL (TAILOR_DATABASE_URL). */
  database: boolean;
  /** `schema.table` of its transactional outbox (the test harness waits until it is empty). */
  outbox?: string;
  /** Clients outside the stack call it (published in compose, ingress from any namespace). */
  clientFacing: boolean;
}

export type ServiceName = (typeof SERVICE_DECLARATIONS)[number]["name"];

/** A declaration with the names that follow from it. */
export interface ServiceSpec extends ServiceDeclaration {
  name: ServiceName;
  dependsOn: readonly ServiceName[];
  /** `TAILOR_<NAME>`: its variables are `TAILOR_<NAME>_*`. */
  envPrefix: string;
  /** `TAILOR_<NAME>_PORT`. */
  portVar: string;
  /** `TAILOR_<NAME>_URL`: where the services that depend on it reach it. */
  urlVar: string;
  /** Its entry point, relative to the repository root. */
  entry: string;
}

/** `model-server` → `TAILOR_MODEL_SERVER`. */
export function serviceEnvPrefix(name: string): string {
  return `TAILOR_${name.toUpperCase().replaceAll("-", "_")}`;
}

/** Every service with its derived names, in declaration (pipeline) order. */
export const SERVICE_SPECS: readonly ServiceSpec[] = SERVICE_DECLARATIONS.map((d) => {
  const envPrefix = serviceEnvPrefix(d.name);
  return {
    ...d,
    envPrefix,
    portVar: `${envPrefix}_PORT`,
    urlVar: `${envPrefix}_URL`,
    entry: `services/${d.name}/src/main.ts`,
  };
});

/** The spec of one service. */
export function serviceSpec(name: ServiceName): ServiceSpec {
  const s = SERVICE_SPECS.find((x) => x.name === name);
  if (!s) throw new Error(`no service ${name} is declared`);
  return s;
}

/**
 * How many services stand above `name` in the longest chain of dependents (0 for one that no
 * service depends on); a cycle throws.
 */
function level(name: ServiceName, seen: readonly ServiceName[] = []): number {
  if (seen.includes(name))
    throw new Error(`services depend on each other in a cycle: ${[...seen, name].join(" → ")}`);
  const dependents = SERVICE_SPECS.filter((s) => s.dependsOn.includes(name));
  return Math.max(0, ...dependents.map((s) => level(s.name, [...seen, name]) + 1));
}

/** Service names with every dependency before its dependents, otherwise in declaration order. */
export function startOrder(): ServiceName[] {
  const l = new Map(SERVICE_SPECS.map((s) => [s.name, level(s.name)]));
  return SERVICE_SPECS.map((s) => s.name).sort((a, b) => l.get(b)! - l.get(a)!);
}

/** Service names with every dependent before its dependencies (consumers first). */
export function stopOrder(): ServiceName[] {
  const l = new Map(SERVICE_SPECS.map((s) => [s.name, level(s.name)]));
  return SERVICE_SPECS.map((s) => s.name).sort((a, b) => l.get(a)! - l.get(b)!);
}

type Camel<S extends string> = S extends `${infer H}-${infer T}`
  ? `${H}${Capitalize<Camel<T>>}`
  : S;

/** Default ports of the services by camel-case name (`modelServer`). */
export const defaultPorts = Object.fromEntries(
  SERVICE_DECLARATIONS.map((d) => [
    d.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
    d.port,
  ]),
) as { readonly [D in (typeof SERVICE_DECLARATIONS)[number] as Camel<D["name"]>]: D["port"] };
