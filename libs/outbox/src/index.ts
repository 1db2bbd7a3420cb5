export {
  type OutboxDB,
  OutboxRelay,
  type OutboxTable,
  type RelayHealthListener,
  type RelayOptions,
  RelayStalledError,
} from "./relay.js";
export { createOutboxTable } from "./table.js";
