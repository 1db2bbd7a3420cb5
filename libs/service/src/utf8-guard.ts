import { AsyncLocalStorage } from "node:async_hooks";
import {
  type DescMessage,
  fromBinary,
  type Message,
  type MessageShape,
  ScalarType,
} from "@bufbuild/protobuf";
import { isReflectMessage, type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { FieldError } from "./fields.js";

/**
 * Invalid UTF-8 in a request is refused with INVALID_ARGUMENT naming the field, never stored as
 * U+FFFD and never answered with INTERNAL.
 *
 * Connect decodes JSON bodies with a lenient TextDecoder (U+FFFD), and turns every protobuf
 * binary parse failure (including proto3's invalid UTF-8) into INTERNAL before any interceptor
 * runs. So the JSON body gets a fatal decoder, and protobuf string decoding, while it serves a
 * request, records the bad string instead of throwing; the interceptor then names its field.
 */

interface RequestState {
  /** Strings of this request that were not valid UTF-8 (decoded with U+FFFD). */
  bad: string[];
  /**
   * False once the response is done: work that a handler started (and that inherited this
   * context) must not decode leniently after the request that could refuse it is gone.
   */
  open: boolean;
}

const requests = new AsyncLocalStorage<RequestState>();
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
let installed = false;

/** Replaces protobuf-es's UTF-8 decoding once per process (see the module comment). */
export function installUtf8Guard(): void {
  if (installed) return;
  installed = true;
  const base = getTextEncoding();
  configureTextEncoding({
    ...base,
    decodeUtf8(bytes: Uint8Array, strict?: boolean): string {
      try {
        return fatal.decode(bytes);
      } catch (err) {
        const state = requests.getStore();
        // Outside a request (bus events, files) the library's own behaviour stays.
        if (!state?.open) {
          if (strict) throw err;
          return lenient.decode(bytes);
        }
        const s = lenient.decode(bytes);
        state.bad.push(s);
        return s;
      }
    },
  });
}

/** Runs one HTTP request so that the decoding above can tell it apart from others. */
export function withUtf8Guard<T>(
  done: { once(event: "close", f: () => void): unknown },
  fn: () => T,
): T {
  const state: RequestState = { bad: [], open: true };
  done.once("close", () => {
    state.open = false;
  });
  return requests.run(state, fn);
}

/** For Connect's JSON serialization: a body that is not UTF-8 is the client's error. */
export const strictJsonTextDecoder = {
  decode(input?: Uint8Array): string {
    try {
      return fatal.decode(input);
    } catch {
      throw new ConnectError("request body is not valid UTF-8", Code.InvalidArgument);
    }
  },
};

/** Refuses a request whose protobuf strings were not valid UTF-8, naming the first such field. */
export function utf8GuardInterceptor(): Interceptor {
  return (next) => async (req) => {
    const bad = requests.getStore()?.bad;
    if (bad?.length && !req.stream) {
      const field = findString(req.method.input, req.message, new Set(bad)) ?? "a string field";
      throw new ConnectError(`${field}: is not valid UTF-8`, Code.InvalidArgument);
    }
    return next(req);
  };
}

/**
 * Decodes binary protobuf from outside a request (a bus event, a file). A string that is not
 * UTF-8 is a FieldError naming its field the same way the RPC path does (`text`,
 * `metadata["k"]`, `text_ref.bucket`); any other malformation throws as `fromBinary` does.
 */
export function fromBinaryUtf8<D extends DescMessage>(
  schema: D,
  bytes: Uint8Array,
): MessageShape<D> {
  installUtf8Guard();
  const state: RequestState = { bad: [], open: true };
  const message = requests.run(state, () => fromBinary(schema, bytes));
  state.open = false;
  if (state.bad.length > 0) {
    const field = findString(schema, message, new Set(state.bad)) ?? "a string field";
    throw new FieldError(field, "is not valid UTF-8");
  }
  return message;
}

/** Path (as the client names it, e.g. `documents[2].metadata["k"]`) of the first string in `wanted`. */
function findString(
  desc: DescMessage,
  message: Message,
  wanted: Set<string>,
  prefix = "",
): string | undefined {
  return walk(reflect(desc, message), wanted, prefix);
}

function walk(m: ReflectMessage, wanted: Set<string>, prefix: string): string | undefined {
  for (const f of m.fields) {
    if (!m.isSet(f)) continue;
    const path = prefix ? `${prefix}.${f.name}` : f.name;
    const v: unknown = m.get(f);
    switch (f.fieldKind) {
      case "scalar":
        if (f.scalar === ScalarType.STRING && wanted.has(v as string)) return path;
        break;
      case "message":
        if (isReflectMessage(v)) {
          const hit = walk(v, wanted, path);
          if (hit) return hit;
        }
        break;
      case "list": {
        let i = 0;
        for (const item of v as Iterable<unknown>) {
          const at = `${path}[${i++}]`;
          if (typeof item === "string" && wanted.has(item)) return at;
          if (isReflectMessage(item)) {
            const hit = walk(item, wanted, at);
            if (hit) return hit;
          }
        }
        break;
      }
      case "map":
        for (const [key, item] of v as Iterable<[unknown, unknown]>) {
          if (typeof key === "string" && wanted.has(key)) return `${path} (a key)`;
          const at = `${path}[${JSON.stringify(String(key))}]`;
          if (typeof item === "string" && wanted.has(item)) return at;
          if (isReflectMessage(item)) {
            const hit = walk(item, wanted, at);
            if (hit) return hit;
          }
        }
        break;
      case "enum":
        break;
    }
  }
  return undefined;
}
