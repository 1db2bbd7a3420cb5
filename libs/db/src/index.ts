export {
  type Generated,
  type Insertable,
  type Kysely,
  type Selectable,
  sql,
  type Transaction,
} from "kysely";
export type { Migration } from "kysely/migration";
export { Database, type DatabaseOptions, DatabaseUrlError, MigrationError } from "./database.js";
