import { PoisonMessageError } from "./errors.js";

/**
 * A bus prefix: lower-case letters and digits in words joined by single dashes. Upper case and
 * `_` are refused rather than folded, so that the mapping to stream names (upper case, `-` → `_`)
 * is one-to-one: `pfx-y`, `pfx_y` and `PFX-Y` would otherwise all name stream `PFX_Y_DATA`.
 */
export const BUS_PREFIX_RULE = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const BUS_PREFIX_MAX = 32;
/**
 * Prefixes that would make subjects or streams overlap with another deployment's: `data` gives
 * subjects `data.data.>` inside an unprefixed deployment's `data.>`; `obj`/`kv` give stream
 * names of the form JetStream uses for object stores and key-value buckets.
 */
const RESERVED_PREFIXES = new Set([
  "data",
  "chunk",
  "embedding",
  "dlq",
  "model",
  "training",
  "eval",
  "feedback",
  "lora",
  "guard",
  "interaction",
  "obj",
  "kv",
]);

/** Why `prefix` cannot be a bus prefix, or undefined when it can ("" means no prefix). */
export function busPrefixProblem(prefix: string): string | undefined {
  if (prefix === "") return undefined;
  if (prefix.length > BUS_PREFIX_MAX) return `is longer than ${BUS_PREFIX_MAX} characters`;
  if (!BUS_PREFIX_RULE.test(prefix))
    return "must be lower-case letters and digits in words joined by single '-' (e.g. acme-prod)";
  if (RESERVED_PREFIXES.has(prefix))
    return `"${prefix}" is reserved (it would overlap another deployment's subjects or streams)`;
  return undefined;
}

/** Subject and stream names of one deployment; the prefix lets several share a NATS server. */
export class Subjects {
  /** Subject prefix including its trailing dot, or "" when none. */
  readonly subjectPrefix: string;
  /** Stream-name prefix (upper case, underscore-terminated), or "" when none. */
  readonly streamPrefix: string;

  constructor(readonly prefix = "") {
    const problem = busPrefixProblem(prefix);
    if (problem) throw new InvalidBusPrefixError(prefix, problem);
    this.subjectPrefix = prefix ? `${prefix}.` : "";
    // Injective: the prefix holds no '_' and no upper case, and no stream key holds a '_'.
    this.streamPrefix = prefix ? `${prefix.toUpperCase().replaceAll("-", "_")}_` : "";
  }

  data(tenant: string, source: string, op: DataOp): string {
    return `${this.subjectPrefix}data.${token(tenant, "tenant")}.${token(source, "source")}.${op}`;
  }
  chunk(tenant: string, kind: "upserted" | "deleted"): string {
    return `${this.subjectPrefix}chunk.${token(tenant, "tenant")}.${kind}`;
  }
  embedding(tenant: string, kind: "ready" | "deleted"): string {
    return `${this.subjectPrefix}embedding.${token(tenant, "tenant")}.${kind}`;
  }
  /** `model.<tenant>.promoted|rolled_back|rejected|trained`: the registry's and trainer's news. */
  model(tenant: string, kind: "promoted" | "rolled_back" | "rejected" | "trained"): string {
    return `${this.subjectPrefix}model.${token(tenant, "tenant")}.${kind}`;
  }
  /** `training.<tenant>.requested|progress|succeeded|failed|cancelled`. */
  training(
    tenant: string,
    kind: "requested" | "progress" | "succeeded" | "failed" | "cancelled",
  ): string {
    return `${this.subjectPrefix}training.${token(tenant, "tenant")}.${kind}`;
  }
  /** `eval.<tenant>.completed|regressed`. */
  eval(tenant: string, kind: "completed" | "regressed"): string {
    return `${this.subjectPrefix}eval.${token(tenant, "tenant")}.${kind}`;
  }
  /** `feedback.<tenant>.received`. */
  feedback(tenant: string, kind: "received"): string {
    return `${this.subjectPrefix}feedback.${token(tenant, "tenant")}.${kind}`;
  }
  /** `lora.<tenant>.submitted|status`: the contract with an external GPU fine-tuning backend. */
  lora(tenant: string, kind: "submitted" | "status"): string {
    return `${this.subjectPrefix}lora.${token(tenant, "tenant")}.${kind}`;
  }
  /** `interaction.<tenant>.logged`: one answered question at the gateway (redacted per policy). */
  interaction(tenant: string, kind: "logged"): string {
    return `${this.subjectPrefix}interaction.${token(tenant, "tenant")}.${kind}`;
  }
  /** `guard.<tenant>.violation`: the guard's audit records. */
  guard(tenant: string, kind: "violation"): string {
    return `${this.subjectPrefix}guard.${token(tenant, "tenant")}.${kind}`;
  }
  deadLetter(originalSubject: string): string {
    return `${this.subjectPrefix}dlq.${this.strip(originalSubject)}`;
  }
  /** A wildcard under this deployment's prefix, e.g. all("data") → "<p>.data.>". */
  all(root: SubjectRoot): string {
    return `${this.subjectPrefix}${root}.>`;
  }
  stream(name: StreamKey): string {
    return `${this.streamPrefix}${name}`;
  }
  /** The subject without this deployment's prefix. */
  strip(subject: string): string {
    return this.subjectPrefix && subject.startsWith(this.subjectPrefix)
      ? subject.slice(this.subjectPrefix.length)
      : subject;
  }

  /** Splits `data.<tenant>.<source>.<op>`; returns an error string naming the bad part. */
  parseData(subject: string): { tenant: string; source: string; op: string } | { error: string } {
    const parts = this.strip(subject).split(".");
    if (parts.length !== 4 || parts[0] !== "data") {
      return { error: `subject ${subject} is not data.<tenant>.<source>.<op>` };
    }
    return { tenant: parts[1]!, source: parts[2]!, op: parts[3]! };
  }

  /** The tenant token of `<root>.<tenant>.…` under this prefix, or undefined when it has none. */
  tenantOf(subject: string, root: SubjectRoot): string | undefined {
    if (this.subjectPrefix && !subject.startsWith(this.subjectPrefix)) return undefined;
    const parts = this.strip(subject).split(".");
    return parts[0] === root && parts.length >= 3 ? parts[1] : undefined;
  }

  /**
   * Refuses a payload whose tenant is not its subject's: subject permissions fence tenants
   * (a publisher may be allowed only `data.acme.>`), so the payload must not name another.
   */
  requireSubjectTenant(subject: string, root: SubjectRoot, payloadTenant: string): void {
    const fromSubject = this.tenantOf(subject, root);
    if (fromSubject === undefined)
      throw new PoisonMessageError(`subject ${subject} is not ${root}.<tenant>.…`);
    if (fromSubject !== payloadTenant) {
      throw new PoisonMessageError(
        `tenant ${JSON.stringify(payloadTenant)} of the payload is not the subject's tenant ${JSON.stringify(fromSubject)}`,
      );
    }
  }
}

export type DataOp = "upsert" | "delete";
export type StreamKey =
  | "DATA"
  | "CHUNK"
  | "EMBEDDING"
  | "DLQ"
  | "MODEL"
  | "TRAINING"
  | "EVAL"
  | "FEEDBACK"
  | "LORA"
  | "GUARD"
  | "INTERACTION";
/** Every stream key, in declaration order. */
export const STREAM_KEYS: readonly StreamKey[] = [
  "DATA",
  "CHUNK",
  "EMBEDDING",
  "DLQ",
  "MODEL",
  "TRAINING",
  "EVAL",
  "FEEDBACK",
  "LORA",
  "GUARD",
  "INTERACTION",
];
export type SubjectRoot =
  | "data"
  | "chunk"
  | "embedding"
  | "dlq"
  | "model"
  | "training"
  | "eval"
  | "feedback"
  | "lora"
  | "guard"
  | "interaction";

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** Tenants and sources become subject tokens, so they may not contain dots, spaces or wildcards. */
export function isValidToken(value: string): boolean {
  return TOKEN.test(value);
}

function token(value: string, what: string): string {
  if (!TOKEN.test(value)) {
    throw new InvalidTokenError(
      `${what} ${JSON.stringify(value)} must match ${TOKEN.source}`,
      what,
    );
  }
  return value;
}

export class InvalidTokenError extends Error {
  override readonly name = "InvalidTokenError";
  readonly code = "invalid_token";
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** A bus prefix that could collide with another deployment's subjects or stream names. */
export class InvalidBusPrefixError extends Error {
  override readonly name = "InvalidBusPrefixError";
  readonly code = "invalid_bus_prefix";
  constructor(
    readonly prefix: string,
    readonly problem: string,
  ) {
    super(`TAILOR_BUS_PREFIX ${JSON.stringify(prefix)} ${problem}`);
  }
}
