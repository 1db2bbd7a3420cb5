import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type ChatRequest, type ChatResponse, ChatResponseSchema } from "@tailor/proto/gateway";
import { FieldError } from "@tailor/service";
import { Stopwatch } from "../rag/stopwatch.js";
import type { ChatTurn } from "../types.js";
import { answerInput, authorize, type GatewayDeps, OVERHEAD_HEADER } from "./deps.js";
import { streamError } from "./errors.js";

const ROLES: readonly string[] = ["user", "assistant", "system"];

/** The conversation so far and its last message, the user's question. */
function conversation(req: ChatRequest): { history: ChatTurn[]; question: string } {
  const n = req.messages.length;
  if (n === 0) throw new FieldError("messages", "is required: the last message is the question");
  const history: ChatTurn[] = [];
  for (const [i, m] of req.messages.entries()) {
    // The role is not quoted back: it may be anything.
    if (!ROLES.includes(m.role))
      throw new FieldError(`messages[${i}].role`, "must be user, assistant or system");
    if (i < n - 1) history.push({ role: m.role as ChatTurn["role"], content: m.content });
  }
  const last = req.messages[n - 1]!;
  if (last.role !== "user")
    throw new FieldError(
      `messages[${n - 1}].role`,
      "must be user: the last message is the question",
    );
  return { history, question: last.content };
}

/** A conversation turn: checked answer text as it is released, then one `done`. */
export async function* chat(
  d: GatewayDeps,
  req: ChatRequest,
  hc: HandlerContext,
): AsyncGenerator<ChatResponse, void, void> {
  try {
    const clock = new Stopwatch();
    const caller = await authorize(d, hc, clock);
    const { history, question } = conversation(req);
    for await (const e of d.orchestrator.answer(
      answerInput(caller, clock, hc, req, { api: "chat", question, history }),
    )) {
      if (e.type === "delta") {
        yield create(ChatResponseSchema, { event: { case: "delta", value: e.text } });
        continue;
      }
      hc.responseTrailer.set(OVERHEAD_HEADER, e.result.overheadMs.toFixed(3));
      yield create(ChatResponseSchema, { event: { case: "done", value: e.result } });
    }
  } catch (err) {
    throw streamError(err, d.ctx.logger, "Chat");
  }
}
