/**
 * The seams between the gateway's parts: auth (keys, limits, budgets), the RAG orchestrator,
 * generators and the output check of streamed answers. Each part is built against these.
 */
import type { GeneratorSpec } from "@tailor/proto";
import type { ChatDone, ModelRoute } from "@tailor/proto/gateway";

/** Who is calling: resolved from the API key, never from the request body. */
export interface Caller {
  tenant: string;
  /** Public id of the key (safe to log). */
  keyId: string;
}

/** Verifies `authorization: Bearer <key>`; throws UNAUTHENTICATED (no, malformed, unknown or revoked key). */
export interface Authenticator {
  authenticate(authorization: string | null | undefined): Promise<Caller>;
}

/** Tokens held against a key's budget while an answer is produced. */
export interface Reservation {
  /** Replaces the hold by what was actually used (prompt + completion tokens). Idempotent. */
  settle(usedTokens: number): Promise<void>;
}

/** Shared across replicas: per-key token-bucket rate limit and per-period token budget. */
export interface Limiter {
  /** Takes one request from the key's bucket; RESOURCE_EXHAUSTED with retry information when empty. */
  admit(caller: Caller): Promise<void>;
  /** Holds `maxTokens` of the budget; RESOURCE_EXHAUSTED when the rest of the period cannot cover it. */
  reserve(caller: Caller, maxTokens: number): Promise<Reservation>;
}

/** A retrieved passage as the generator sees it; `number` is its citation number ([n]). */
export interface Passage {
  number: number;
  chunkId: string;
  documentId: string;
  source: string;
  title: string;
  text: string;
  score: number;
}

export interface ChatTurn {
  role: "user" | "assistant" | "system";
  content: string;
}

export interface GenerateInput {
  question: string;
  /** Earlier turns (Chat), oldest first; the question is not among them. */
  history: readonly ChatTurn[];
  passages: readonly Passage[];
  maxTokens: number;
  signal?: AbortSignal;
}

export interface GenerationResult {
  promptTokens: number;
  completionTokens: number;
  finishReason: "stop" | "length";
}

/** One generator version (`generator@v1`) ready to run. */
export interface Generator {
  /** Registry version of the generator (`generator@v1`). */
  readonly version: string;
  /** What it runs: `extractive`, an exact model-server `name@version`, or the upstream model. */
  readonly model: string;
  readonly spec: GeneratorSpec;
  /** Yields answer text as it is produced; returns the usage. Citations are `[n]` markers. */
  generate(input: GenerateInput): AsyncGenerator<string, GenerationResult, void>;
  close?(): Promise<void>;
}

/** What the output check of a window of answer text decided. */
export interface WindowVerdict {
  /** The text to send in place of the window (redacted, or with unsupported sentences removed). */
  text: string;
  /** allow, redact, flag or block (block: send nothing more and stop). */
  action: "allow" | "redact" | "flag" | "block";
}

/** How a request names its route (empty fields: the tenant's `prod`). */
export interface RouteRequest {
  alias: string;
  version: string;
  routingKey: string;
}

/** A route resolved to exact versions. */
export interface ResolvedRoute {
  /** The alias that chose it (empty when an exact version was named). */
  alias: string;
  /** Exact retrieval version (`retrieval@v3`) and its embedder (`glove-sg-100d@…`). */
  retrieval: string;
  embedder: string;
  generator: Generator;
}

/** Resolves routes through the registry, following model.promoted / rolled_back events. */
export interface RouteResolver {
  /** NOT_FOUND naming the alias or version when the tenant has no such route. */
  resolve(tenant: string, route: RouteRequest): Promise<ResolvedRoute>;
  /** The tenant's routes (prod, canary when set), for ListModels and GET /v1/models. */
  list(tenant: string): Promise<ModelRoute[]>;
}

/** One question to answer, from any API shape (Ask, Chat, OpenAI chat completions). */
export interface AnswerRequest {
  caller: Caller;
  api: "ask" | "chat" | "openai.chat";
  question: string;
  history: readonly ChatTurn[];
  route: RouteRequest;
  /** 0: the gateway's default. */
  k: number;
  sources: readonly string[];
  metadata: Readonly<Record<string, string>>;
  /** 0: the generator's default. */
  maxTokens: number;
  signal?: AbortSignal;
}

/** What the orchestrator yields: checked answer text in order, then one `done`. */
export type AnswerEvent = { type: "delta"; text: string } | { type: "done"; result: ChatDone };

/**
 * Guard input check → retrieval → generation → output check (streamed through a hold-back
 * window), logging the interaction. Throws ConnectError before the first event for refusals
 * (INVALID_ARGUMENT, NOT_FOUND route, RESOURCE_EXHAUSTED, PERMISSION_DENIED when the input is blocked).
 */
export interface Orchestrator {
  answer(req: AnswerRequest): AsyncGenerator<AnswerEvent, void, void>;
}
