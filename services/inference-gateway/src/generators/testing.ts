import { ConnectError } from "@connectrpc/connect";
import type { GenerateInput, GenerationResult, Generator } from "../types.js";

/** Runs a generator to its end (tests): its deltas, their text, and its result. */
export async function runGenerator(gen: Generator, req: GenerateInput) {
  const it = gen.generate(req);
  const deltas: string[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) return { deltas, text: deltas.join(""), result: r.value as GenerationResult };
    deltas.push(r.value);
  }
}

/** The ConnectError `p` rejects with (tests); anything else, or no rejection, throws. */
export async function connectFailure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw new Error(`expected a ConnectError, got ${String(err)}`);
  }
  throw new Error("expected a failure");
}
