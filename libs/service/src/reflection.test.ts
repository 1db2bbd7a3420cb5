import {
  create,
  createFileRegistry,
  type DescService,
  type FileRegistry,
  fromBinary,
} from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  file_google_protobuf_empty,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import { createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { IngestionService, reflectionV1, reflectionV1alpha } from "@tailor/proto";
import { afterEach, describe, expect, it } from "vitest";
import { type H2cTestServer, startH2cTestServer } from "./h2c-test-server.js";
import { HealthStatus, registerHealth } from "./health.js";
import { registerReflection } from "./reflection.js";

type Query =
  | {
      case:
        | "listServices"
        | "fileByFilename"
        | "fileContainingSymbol"
        | "allExtensionNumbersOfType";
      value: string;
    }
  | {
      case: "fileContainingExtension";
      value: { containingType: string; extensionNumber: number };
    };

type Response = reflectionV1.ServerReflectionResponse | reflectionV1alpha.ServerReflectionResponse;

async function* from<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) {
    out.push(item);
  }
  return out;
}

// One stream per call, so the tests also prove one response per request, in order.
const versions = [
  {
    name: "v1",
    ask(transport: Transport, queries: Query[]): Promise<Response[]> {
      const client = createClient(reflectionV1.ServerReflection, transport);
      const requests = queries.map((messageRequest) =>
        create(reflectionV1.ServerReflectionRequestSchema, { host: "localhost", messageRequest }),
      );
      return collect(client.serverReflectionInfo(from(requests)));
    },
  },
  {
    name: "v1alpha",
    ask(transport: Transport, queries: Query[]): Promise<Response[]> {
      const client = createClient(reflectionV1alpha.ServerReflection, transport);
      const requests = queries.map((messageRequest) =>
        create(reflectionV1alpha.ServerReflectionRequestSchema, {
          host: "localhost",
          messageRequest,
        }),
      );
      return collect(client.serverReflectionInfo(from(requests)));
    },
  },
];

// A service whose file imports two well-known files, to prove dependencies travel along.
const clockFile = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "test/clock/v1/clock.proto",
    package: "test.clock.v1",
    dependency: ["google/protobuf/empty.proto", "google/protobuf/timestamp.proto"],
    syntax: "proto3",
    service: [
      {
        name: "ClockService",
        method: [
          {
            name: "Now",
            inputType: ".google.protobuf.Empty",
            outputType: ".google.protobuf.Timestamp",
          },
        ],
      },
    ],
  }),
  (name) =>
    [file_google_protobuf_empty, file_google_protobuf_timestamp].find((f) => f.proto.name === name),
);
const ClockService = clockFile.getService("test.clock.v1.ClockService") as DescService;

type TestServer = H2cTestServer;
const startServer = startH2cTestServer;

function decodeFiles(response: Response | undefined): FileDescriptorProto[] {
  if (response?.messageResponse.case !== "fileDescriptorResponse") {
    throw new Error(`expected a file descriptor response, got ${response?.messageResponse.case}`);
  }
  return response.messageResponse.value.fileDescriptorProto.map((bytes) =>
    fromBinary(FileDescriptorProtoSchema, bytes),
  );
}

// Rebuilding a registry fails on any missing import or unresolvable type, as grpcurl would;
// the requested file comes first, its dependencies follow in any order.
function registryOf(files: FileDescriptorProto[]): FileRegistry {
  const [requested] = files;
  if (requested === undefined) {
    throw new Error("no files in response");
  }
  return createFileRegistry(requested, (name) => files.find((f) => f.name === name));
}

describe.each(versions)("registerReflection $name", ({ ask }) => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function setup(): Promise<Transport> {
    server = await startServer((router) => {
      registerHealth(router, new HealthStatus());
      registerReflection(router, [IngestionService, ClockService]);
    });
    return createGrpcTransport({ baseUrl: server.baseUrl });
  }

  it("lists the given services, health and reflection", async () => {
    const [response] = await ask(await setup(), [{ case: "listServices", value: "" }]);

    expect(response?.messageResponse.case).toBe("listServicesResponse");
    const names =
      response?.messageResponse.case === "listServicesResponse"
        ? response.messageResponse.value.service.map((s) => s.name)
        : [];
    expect(names).toEqual(
      expect.arrayContaining([
        "tailor.ingestion.v1.IngestionService",
        "test.clock.v1.ClockService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]),
    );
    expect(names).toHaveLength(5);
  });

  it("returns a complete descriptor for a service, one response per request", async () => {
    const responses = await ask(await setup(), [
      { case: "fileContainingSymbol", value: "tailor.ingestion.v1.IngestionService" },
      { case: "fileContainingSymbol", value: ".tailor.ingestion.v1.IngestionService" },
      { case: "fileContainingSymbol", value: "tailor.ingestion.v1.IngestionService.GetDocument" },
      { case: "fileByFilename", value: "tailor/ingestion/v1/ingestion.proto" },
    ]);

    expect(responses).toHaveLength(4);
    for (const response of responses) {
      const files = decodeFiles(response);
      expect(files.map((f) => f.name)).toEqual(["tailor/ingestion/v1/ingestion.proto"]);
      const registry = registryOf(files);
      const service = registry.getService("tailor.ingestion.v1.IngestionService");
      expect(service?.methods.map((m) => m.name)).toEqual([
        "IngestDocuments",
        "DeleteDocument",
        "GetDocument",
        "ListDocuments",
        "ListChunks",
      ]);
      expect(service?.methods[0]?.input.typeName).toBe(
        "tailor.ingestion.v1.IngestDocumentsRequest",
      );
      const input = registry.getMessage("tailor.ingestion.v1.DocumentInput");
      expect(input?.fields.map((f) => [f.name, f.number])).toEqual([
        ["id", 1],
        ["title", 2],
        ["text", 3],
        ["content_type", 4],
        ["metadata", 5],
      ]);
      // grpcurl prints and parses JSON by these names, so they must survive the round trip.
      expect(input?.field.contentType?.jsonName).toBe("contentType");
    }
  });

  it("finds nested messages and enums by fully-qualified name", async () => {
    const responses = await ask(await setup(), [
      { case: "fileContainingSymbol", value: "tailor.ingestion.v1.DocumentInput.MetadataEntry" },
      { case: "fileContainingSymbol", value: ".tailor.ingestion.v1.IngestStatus" },
      { case: "fileContainingSymbol", value: "grpc.health.v1.HealthCheckResponse.ServingStatus" },
    ]);

    expect(decodeFiles(responses[0]).map((f) => f.name)).toEqual([
      "tailor/ingestion/v1/ingestion.proto",
    ]);
    expect(decodeFiles(responses[1]).map((f) => f.name)).toEqual([
      "tailor/ingestion/v1/ingestion.proto",
    ]);
    const health = registryOf(decodeFiles(responses[2]));
    expect(health.getEnum("grpc.health.v1.HealthCheckResponse.ServingStatus")?.values).toHaveLength(
      4,
    );
    expect(health.getService("grpc.health.v1.Health")?.methods[1]?.methodKind).toBe(
      "server_streaming",
    );
  });

  it("sends the transitive dependencies along with the file", async () => {
    const [bySymbol, byFile] = await ask(await setup(), [
      { case: "fileContainingSymbol", value: "test.clock.v1.ClockService.Now" },
      { case: "fileByFilename", value: "test/clock/v1/clock.proto" },
    ]);

    for (const response of [bySymbol, byFile]) {
      const files = decodeFiles(response);
      expect(files.map((f) => f.name).sort()).toEqual([
        "google/protobuf/empty.proto",
        "google/protobuf/timestamp.proto",
        "test/clock/v1/clock.proto",
      ]);
      const method = registryOf(files).getService("test.clock.v1.ClockService")?.methods[0];
      expect(method?.output.typeName).toBe("google.protobuf.Timestamp");
      expect(method?.output.fields.map((f) => f.name)).toEqual(["seconds", "nanos"]);
    }
  });

  it("answers misses with error_response NOT_FOUND and keeps the stream open", async () => {
    const responses = await ask(await setup(), [
      { case: "fileContainingSymbol", value: "tailor.ingestion.v1.NoSuchThing" },
      { case: "fileByFilename", value: "no/such/file.proto" },
      {
        case: "fileContainingExtension",
        value: { containingType: "tailor.ingestion.v1.DocumentInput", extensionNumber: 100 },
      },
      { case: "allExtensionNumbersOfType", value: "no.such.Message" },
      { case: "allExtensionNumbersOfType", value: "tailor.ingestion.v1.DocumentInput" },
    ]);

    expect(responses).toHaveLength(5);
    for (const response of responses.slice(0, 4)) {
      expect(response.messageResponse.case).toBe("errorResponse");
      expect(response.messageResponse.value).toMatchObject({ errorCode: 5 });
    }
    expect(responses[4]?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "tailor.ingestion.v1.DocumentInput", extensionNumber: [] },
    });
    expect(responses[0]?.originalRequest?.messageRequest).toMatchObject({
      case: "fileContainingSymbol",
      value: "tailor.ingestion.v1.NoSuchThing",
    });
  });
});
