/** Subject and stream names of one deployment; the prefix lets several share a NATS server. */
export class Subjects {
  /** Subject prefix including its trailing dot, or "" when none. */
  readonly subjectPrefix: string;
  /** Stream-name prefix (upper case, underscore-terminated), or "" when none. */
  readonly streamPrefix: string;

  constructor(readonly prefix = "") {
    if (!/^[A-Za-z0-9_-]*$/.test(prefix))
      throw new Error(`invalid bus prefix ${JSON.stringify(prefix)}`);
    this.subjectPrefix = prefix ? `${prefix}.` : "";
    this.streamPrefix = prefix ? `${prefix.toUpperCase().replace(/-/g, "_")}_` : "";
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
  deadLetter(originalSubject: string): string {
    return `${this.subjectPrefix}dlq.${this.strip(originalSubject)}`;
  }
  /** A wildcard under this deployment's prefix, e.g. all("data") → "<p>.data.>". */
  all(root: "data" | "chunk" | "embedding" | "dlq"): string {
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
}

export type DataOp = "upsert" | "delete";
export type StreamKey = "DATA" | "CHUNK" | "EMBEDDING" | "DLQ";

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
