import { create, type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import { Health, reflectionV1, reflectionV1alpha } from "@tailor/proto";

/** The request oneof, shared field for field by reflection v1 and v1alpha. */
type ReflectionQuery =
  | { case: "fileByFilename"; value: string }
  | { case: "fileContainingSymbol"; value: string }
  | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
  | { case: "allExtensionNumbersOfType"; value: string }
  | { case: "listServices"; value: string }
  | { case: undefined; value?: undefined };

/** The response oneof, shared field for field by reflection v1 and v1alpha. */
type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | {
      case: "allExtensionNumbersResponse";
      value: { baseTypeName: string; extensionNumber: number[] };
    }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** Answers reflection queries from the descriptors protobuf-es embeds in generated code. */
class ReflectionIndex {
  readonly #serviceNames: string[];
  readonly #filesByName = new Map<string, DescFile>();
  readonly #filesBySymbol = new Map<string, DescFile>();
  readonly #encoded = new Map<DescFile, Uint8Array>();

  constructor(services: readonly DescService[]) {
    const names = new Set<string>();
    for (const service of services) {
      names.add(service.typeName);
      this.#addFile(service.file);
    }
    this.#serviceNames = [...names].sort();
  }

  answer(query: ReflectionQuery): ReflectionAnswer {
    switch (query.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: { service: this.#serviceNames.map((name) => ({ name })) },
        };
      case "fileByFilename":
        return this.#files(this.#filesByName.get(query.value), `file "${query.value}"`);
      case "fileContainingSymbol": {
        // Clients send names with and without the leading dot of a protobuf type reference.
        const symbol = query.value.startsWith(".") ? query.value.slice(1) : query.value;
        return this.#files(this.#filesBySymbol.get(symbol), `symbol "${query.value}"`);
      }
      case "fileContainingExtension":
        // Tailor contracts declare no extensions, so every lookup is a miss.
        return notFound(
          `extension ${query.value.extensionNumber} of "${query.value.containingType}"`,
        );
      case "allExtensionNumbersOfType": {
        const typeName = query.value.startsWith(".") ? query.value.slice(1) : query.value;
        if (!this.#filesBySymbol.has(typeName)) {
          return notFound(`type "${query.value}"`);
        }
        return {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: typeName, extensionNumber: [] },
        };
      }
      case undefined:
        return {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
        };
      default: {
        const unreachable: never = query;
        return unreachable;
      }
    }
  }

  #files(file: DescFile | undefined, what: string): ReflectionAnswer {
    if (file === undefined) {
      return notFound(what);
    }
    // grpcurl resolves imports only from what the server sends, so the whole closure goes along.
    const closure: Uint8Array[] = [];
    const seen = new Set<DescFile>();
    const visit = (f: DescFile): void => {
      if (seen.has(f)) {
        return;
      }
      seen.add(f);
      closure.push(this.#encode(f));
      for (const dep of f.dependencies) {
        visit(dep);
      }
    };
    visit(file);
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: closure } };
  }

  #encode(file: DescFile): Uint8Array {
    let bytes = this.#encoded.get(file);
    if (bytes === undefined) {
      // file.proto has json names and dependencies restored by fileDesc(), unlike the embedded string.
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.#encoded.set(file, bytes);
    }
    return bytes;
  }

  #addFile(file: DescFile): void {
    if (this.#filesByName.has(file.proto.name)) {
      return;
    }
    this.#filesByName.set(file.proto.name, file);
    for (const dep of file.dependencies) {
      this.#addFile(dep);
    }
    // Walking the descriptor proto rather than DescFile also reaches synthetic map entry
    // messages, which protobuf-es leaves out of nestedMessages but protoc clients may ask for.
    const proto = file.proto;
    const scope = proto.package === "" ? "" : `${proto.package}.`;
    for (const message of proto.messageType) {
      this.#addMessage(file, scope, message);
    }
    for (const enumeration of proto.enumType) {
      this.#addEnum(file, scope, enumeration);
    }
    for (const extension of proto.extension) {
      this.#addSymbol(file, scope + extension.name);
    }
    for (const service of proto.service) {
      this.#addSymbol(file, scope + service.name);
      for (const method of service.method) {
        this.#addSymbol(file, `${scope}${service.name}.${method.name}`);
      }
    }
  }

  #addMessage(file: DescFile, scope: string, message: DescriptorProto): void {
    const name = scope + message.name;
    this.#addSymbol(file, name);
    for (const member of [...message.field, ...message.oneofDecl, ...message.extension]) {
      this.#addSymbol(file, `${name}.${member.name}`);
    }
    for (const nested of message.nestedType) {
      this.#addMessage(file, `${name}.`, nested);
    }
    for (const enumeration of message.enumType) {
      this.#addEnum(file, `${name}.`, enumeration);
    }
  }

  #addEnum(file: DescFile, scope: string, enumeration: EnumDescriptorProto): void {
    this.#addSymbol(file, scope + enumeration.name);
    // Enum values are scoped beside their enum, as in C++, not inside it.
    for (const value of enumeration.value) {
      this.#addSymbol(file, scope + value.name);
    }
  }

  #addSymbol(file: DescFile, name: string): void {
    this.#filesBySymbol.set(name, file);
  }
}

function notFound(what: string): ReflectionAnswer {
  // The reflection protocol reports lookup misses in-band so the stream stays usable.
  return {
    case: "errorResponse",
    value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
  };
}

/**
 * Mounts grpc.reflection.v1 and v1alpha ServerReflection, listing `services` plus health and
 * reflection themselves, so grpcurl and similar tools work without local .proto files.
 */
export function registerReflection(router: ConnectRouter, services: readonly DescService[]): void {
  const index = new ReflectionIndex([
    ...services,
    Health,
    reflectionV1.ServerReflection,
    reflectionV1alpha.ServerReflection,
  ]);
  router.service(reflectionV1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield create(reflectionV1.ServerReflectionResponseSchema, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: index.answer(request.messageRequest),
        });
      }
    },
  });
  // v1alpha is still what many deployed clients (older grpcurl, grpc_cli) ask for first.
  router.service(reflectionV1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield create(reflectionV1alpha.ServerReflectionResponseSchema, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: index.answer(request.messageRequest),
        });
      }
    },
  });
}
