export { DATA_PATH, type Harness, ROOT, startHarness, withDependencies } from "./harness.js";
export * from "./hostile.js";
export { testNatsUrl, uniquePrefix, withTestBusPrefix } from "./nats.js";
export { freePort } from "./ports.js";
export { createTestDatabase, type TestDatabase, testDatabaseAdminUrl } from "./postgres.js";
export { rpcError } from "./rpc.js";
export { startTestService, type TestService } from "./service.js";
export { type StreamMessage, streamMessages } from "./stream.js";
export { waitFor } from "./wait.js";
