import { create } from "@bufbuild/protobuf";
import { Action, VerdictSchema } from "@tailor/proto";
import { describe, expect, it } from "vitest";
import type { ChatTurn } from "../types.js";
import { joinUserTurns, redactTurns } from "./history.js";

describe("history", () => {
  it("maps a redacting verdict of the joined user turns back onto each turn", () => {
    const history: ChatTurn[] = [
      { role: "user", content: "I am ann@example.com" },
      { role: "assistant", content: "Hello ann@example.com" },
      { role: "user", content: "Call 555-0100 please" },
    ];
    const { text, starts } = joinUserTurns(history);
    expect(text).toBe("I am ann@example.com\n\nCall 555-0100 please");
    const email = text.indexOf("ann@");
    const phone = text.indexOf("555");
    const v = create(VerdictSchema, {
      action: Action.REDACT,
      pii: [
        { type: "EMAIL", start: email, end: email + 15 },
        { type: "PHONE", start: phone, end: phone + 8 },
      ],
    });
    expect(redactTurns(history, starts, v).map((t) => t.content)).toEqual([
      "I am [EMAIL]",
      // Assistant turns are the client's record of earlier answers: not checked as input.
      "Hello ann@example.com",
      "Call [PHONE] please",
    ]);
    expect(redactTurns(history, starts, create(VerdictSchema, { action: Action.ALLOW }))).toEqual(
      history,
    );
  });
});
