/** POST /v1/chat/completions against in-test seams (test-fixtures.ts). */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import {
  ANSWER,
  calls,
  chatBody,
  EMBEDDER,
  errorOf,
  gate,
  useOpenAiServer,
} from "./test-fixtures.js";

const { client, post } = useOpenAiServer();

describe("POST /v1/chat/completions", () => {
  it("answers through the orchestrator with OpenAI's shape and Tailor's extras", async () => {
    const { data, response } = await client()
      .chat.completions.create({
        model: "tailor",
        user: "user-7",
        max_completion_tokens: 64,
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "How did the north do?" },
          { role: "assistant", content: "Well." },
          { role: "user", content: [{ type: "text", text: "And costs?" }] },
        ],
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(ANSWER.join(""));
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.id).toBe("int-123");
    expect(data.model).toBe("retrieval@v3");
    expect(data.usage).toEqual({ prompt_tokens: 40, completion_tokens: 9, total_tokens: 49 });
    const t = (data as unknown as { tailor: Record<string, unknown> }).tailor;
    expect(t["interaction_id"]).toBe("int-123");
    expect(t["trace_id"]).toBe("trace-9");
    expect(t["citations"]).toHaveLength(2);
    expect(t["versions"]).toMatchObject({ retrieval: "retrieval@v3", embedder: EMBEDDER });
    expect(t["guard"]).toMatchObject({ input_action: "allow", withheld_chunk_ids: ["c9"] });
    const overhead = Number(response.headers.get("x-tailor-overhead-ms"));
    expect(overhead).toBeGreaterThanOrEqual(0.25);
    expect(overhead).toBeLessThan(1000);
    const req = calls[0];
    expect(req).toMatchObject({
      api: "openai.chat",
      caller: { tenant: "acme" },
      question: "And costs?",
      route: { alias: "prod", version: "", routingKey: "user-7" },
      maxTokens: 64,
    });
    expect(req?.history.map((h) => h.role)).toEqual(["system", "user", "assistant"]);
  });

  it("routes canary, exact versions and the routing-key header; an unknown model is 404", async () => {
    await client().chat.completions.create(
      { model: "canary", messages: [{ role: "user", content: "q" }], user: "u1" },
      { headers: { "x-tailor-routing-key": "session-1" } },
    );
    await client().chat.completions.create({
      model: "retrieval@v4",
      messages: [
        { role: "developer", content: "x" },
        { role: "user", content: "q" },
      ],
    });
    await client().chat.completions.create({
      model: "prod",
      messages: [{ role: "user", content: "q" }],
      // @ts-expect-error Tailor's own options travel as an extra body field.
      tailor: {
        k: 7,
        sources: ["crm"],
        metadata: JSON.parse('{"__proto__": "x", "region": "north"}'),
      },
    });
    const extra = calls.pop();
    expect(extra).toMatchObject({ k: 7, sources: ["crm"] });
    expect(Object.entries(extra?.metadata ?? {})).toEqual([
      ["__proto__", "x"],
      ["region", "north"],
    ]);
    expect(calls.map((c) => c.route)).toEqual([
      { alias: "canary", version: "", routingKey: "session-1" },
      { alias: "", version: "retrieval@v4", routingKey: "" },
    ]);
    expect(calls[1]?.history).toEqual([{ role: "system", content: "x" }]);
    const err = await client()
      .chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "q" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject({ status: 404, code: "model_not_found", param: "model" });
  });

  it("streams each delta before the answer is finished, then finish_reason, usage and [DONE]", async () => {
    const stream = await client().chat.completions.create({
      model: "prod",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "slow" }],
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    let text = "";
    for await (const c of stream) {
      chunks.push(c);
      const delta = c.choices[0]?.delta.content ?? "";
      // The orchestrator holds the rest of the answer until the first delta has arrived here.
      if (delta === ANSWER[0]) gate.open();
      text += delta;
    }
    expect(text).toBe(ANSWER.join(""));
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const last = chunks.at(-1);
    const final = chunks.at(-2);
    expect(final?.choices[0]?.finish_reason).toBe("stop");
    expect((final as unknown as { tailor: { interaction_id: string } }).tailor.interaction_id).toBe(
      "int-123",
    );
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({
      prompt_tokens: 40,
      completion_tokens: 9,
      total_tokens: 49,
    });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it("a client that leaves mid-stream aborts the orchestrator", async () => {
    const abort = new AbortController();
    const stream = await client().chat.completions.create(
      { model: "prod", stream: true, messages: [{ role: "user", content: "slow" }] },
      { signal: abort.signal },
    );
    let deltas = 0;
    // The client ends its iteration quietly (or with APIUserAbortError) when aborted.
    await (async () => {
      for await (const c of stream) {
        if (c.choices[0]?.delta.content) {
          deltas++;
          abort.abort();
        }
      }
    })().catch(() => {});
    expect(deltas).toBe(1);
    await expect.poll(() => calls[0]?.signal?.aborted, { timeout: 5000 }).toBe(true);
  });

  it("a failure mid-stream is an error event the client raises; the guard's stop is content_filter", async () => {
    const stream = await client().chat.completions.create({
      model: "prod",
      stream: true,
      messages: [{ role: "user", content: "fail midway" }],
    });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? "");
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String((err as Error).message)).toMatch(/guard down/);
    expect(seen.join("")).toBe(ANSWER[0]);
    const filtered = await client().chat.completions.create({
      model: "prod",
      messages: [{ role: "user", content: "filtered" }],
    });
    expect(filtered.choices[0]?.finish_reason).toBe("content_filter");
  });

  it("maps refusals: blocked input 403, internal failures 500 without internals", async () => {
    const blocked = await client()
      .chat.completions.create({ model: "prod", messages: [{ role: "user", content: "blocked" }] })
      .catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const bad = await post(
      "/v1/chat/completions",
      chatBody({ messages: [{ role: "user", content: "bad route" }] }),
    );
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toMatchObject({ param: "model", message: /^model: must be/ });
    const r = await post(
      "/v1/chat/completions",
      chatBody({ messages: [{ role: "user", content: "explode" }] }),
    );
    expect(r.status).toBe(500);
    const text = await r.text();
    expect(text).not.toMatch(/secret internals/);
    expect(JSON.parse(text).error.type).toBe("server_error");
  });
});
