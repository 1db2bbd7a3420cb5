import { type Logger, redactUrl } from "@tailor/telemetry";
import { Kysely, PostgresDialect, sql, type Transaction } from "kysely";
import { type Migration, type MigrationProvider, Migrator } from "kysely/migration";
import pg from "pg";
import { parse as parseConnectionString } from "pg-connection-string";

export interface DatabaseOptions {
  url: string;
  /** The service's own schema; its tables and migration bookkeeping live there. */
  schema: string;
  /** Migrations in order, keyed by timestamped name. */
  migrations: Record<string, Migration>;
  poolSize?: number;
  logger?: Logger;
}

/** A service's database: pool, Kysely, migrations under an advisory lock, transactions. */
export class Database<DB> {
  readonly db: Kysely<DB>;
  readonly pool: pg.Pool;
  private destroyed = false;

  constructor(private readonly o: DatabaseOptions) {
    try {
      // The pool parses lazily, at the first query; parse now so a bad URL fails at start.
      parseConnectionString(o.url);
    } catch (err) {
      // Say which URL, without its password; the driver's own error names neither.
      throw new DatabaseUrlError(
        `invalid database URL ${redactUrl(o.url)}: ${(err as Error).message}`,
      );
    }
    this.pool = new pg.Pool({
      connectionString: o.url,
      max: o.poolSize ?? 10,
      // Every connection sees the service schema first, so queries need no qualifier.
      options: `-c search_path=${o.schema},public`,
    });
    this.pool.on("error", (err) => o.logger?.warn({ err }, "idle postgres client failed"));
    this.db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: this.pool }) });
  }

  /**
   * Creates the schema and applies pending migrations. Several replicas may start at once:
   * Kysely's Migrator runs in one transaction holding a transaction-scoped advisory lock
   * (pg_advisory_xact_lock), so only one applies them and the others then see them done. No
   * second connection is needed, so this also works on a single-connection pool.
   */
  async migrate(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await sql.raw(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.o.schema)}`).execute(this.db);
        break;
      } catch (err) {
        // Two replicas creating the schema at the same instant: one loses with a unique violation.
        if ((err as { code?: string }).code !== "23505" || attempt > 3) throw err;
      }
    }
    const migrator = new Migrator({
      db: this.db as Kysely<unknown>,
      provider: new ListProvider(this.o.migrations),
      migrationTableSchema: this.o.schema,
    });
    const { error, results } = await migrator.migrateToLatest();
    for (const r of results ?? []) {
      this.o.logger?.info({ migration: r.migrationName, status: r.status }, "migration");
    }
    if (error)
      throw new MigrationError(`migrations of schema ${this.o.schema} failed`, { cause: error });
  }

  async transaction<T>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  /** True when the server answers. */
  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the pool; safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.db.destroy();
  }
}

class ListProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.migrations;
  }
}

/** TAILOR_DATABASE_URL (or the URL given) cannot be parsed. */
export class DatabaseUrlError extends Error {
  override readonly name = "DatabaseUrlError";
  readonly code = "invalid_database_url";
}

export class MigrationError extends Error {
  override readonly name = "MigrationError";
  readonly code = "migration_failed";
}

function quoteIdent(id: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(id)) throw new Error(`invalid schema name ${id}`);
  return `"${id}"`;
}
