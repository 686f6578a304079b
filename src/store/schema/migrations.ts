import { type CreateTableBuilder, type Kysely, type Migration, type MigrationProvider, Migrator, sql } from "kysely";
import type { DialectSpec, StorageType } from "../dialect.js";

/** Migration history table (public: do not write to it). */
export const MIGRATION_TABLE = "clerk_sync_migrations";
export const MIGRATION_LOCK_TABLE = "clerk_sync_migrations_lock";

type Db = Kysely<unknown>;
type Logical = StorageType;

/** The dialect's SQL type, verbatim (Kysely's type check knows neither `longtext` nor MySQL's `int`). */
const columnType = (d: DialectSpec, type: Logical) => sql.raw(d.types.columnType(type));

/** `CREATE TABLE` with the dialect's table options (MySQL: InnoDB, utf8mb4, case-sensitive keys). */
function createTable(db: Db, d: DialectSpec, name: string): CreateTableBuilder<string, never> {
  const table = db.schema.createTable(name);
  return d.types.tableOptions === undefined ? table : table.modifyEnd(sql.raw(d.types.tableOptions));
}

/** Creates a mirrored entity table: id, version, deleted_at, then the given data columns. */
async function createEntityTable(
  db: Db,
  d: DialectSpec,
  name: string,
  columns: Readonly<Record<string, Logical>>,
  indexes: readonly string[],
): Promise<void> {
  let table = createTable(db, d, name)
    .addColumn("id", columnType(d, "key"), (c) => c.primaryKey())
    .addColumn("version", columnType(d, "bigint"), (c) => c.notNull().defaultTo(0))
    .addColumn("deleted_at", columnType(d, "bigint"));
  for (const [column, type] of Object.entries(columns)) table = table.addColumn(column, columnType(d, type));
  await table.execute();
  for (const column of indexes) {
    await db.schema.createIndex(`${name}_${column}_idx`).on(name).column(column).execute();
  }
}

/**
 * The migrations, oldest first. A migration is never edited once released: a change to the
 * table contract is a new migration.
 */
function allMigrations(d: DialectSpec): Record<string, Migration> {
  const t = (type: Logical) => columnType(d, type);
  return {
    "0001_users_and_deliveries": {
      async up(db: Db) {
        await createTable(db, d, "clerk_webhook_events")
          .addColumn("svix_id", t("key"), (c) => c.primaryKey())
          .addColumn("type", t("key"), (c) => c.notNull())
          .addColumn("object_type", t("key"))
          .addColumn("object_id", t("key"))
          .addColumn("event_timestamp", t("bigint"))
          .addColumn("first_received_at", t("bigint"), (c) => c.notNull())
          .addColumn("last_received_at", t("bigint"), (c) => c.notNull())
          .addColumn("delivery_count", t("int"), (c) => c.notNull().defaultTo(1))
          .addColumn("status", t("key"), (c) => c.notNull())
          .addColumn("last_outcome", t("key"), (c) => c.notNull())
          .addColumn("error_code", t("key"))
          .addColumn("error_message", t("text"))
          .addColumn("payload", t("longtext"), (c) => c.notNull())
          .execute();
        for (const column of ["first_received_at", "object_id", "status", "type"]) {
          await db.schema
            .createIndex(`clerk_webhook_events_${column}_idx`)
            .on("clerk_webhook_events")
            .column(column)
            .execute();
        }

        await createTable(db, d, "clerk_users")
          .addColumn("id", t("key"), (c) => c.primaryKey())
          .addColumn("version", t("bigint"), (c) => c.notNull().defaultTo(0))
          .addColumn("deleted_at", t("bigint"))
          .addColumn("external_id", t("key"))
          .addColumn("username", t("key"))
          .addColumn("first_name", t("text"))
          .addColumn("last_name", t("text"))
          .addColumn("image_url", t("text"))
          .addColumn("primary_email_address", t("key"))
          .addColumn("primary_phone_number", t("key"))
          .addColumn("public_metadata", t("json"))
          .addColumn("private_metadata", t("json"))
          .addColumn("unsafe_metadata", t("json"))
          .addColumn("banned", t("bool"))
          .addColumn("locked", t("bool"))
          .addColumn("last_sign_in_at", t("bigint"))
          .addColumn("last_active_at", t("bigint"))
          .addColumn("created_at", t("bigint"))
          .addColumn("updated_at", t("bigint"))
          .addColumn("data", t("json"))
          .execute();
        for (const column of ["external_id", "username", "primary_email_address"]) {
          await db.schema.createIndex(`clerk_users_${column}_idx`).on("clerk_users").column(column).execute();
        }

        await createTable(db, d, "clerk_user_email_addresses")
          .addColumn("id", t("key"), (c) => c.primaryKey())
          .addColumn("user_id", t("key"), (c) => c.notNull())
          .addColumn("email_address", t("key"), (c) => c.notNull())
          .addColumn("verification_status", t("key"))
          .addColumn("is_primary", t("bool"), (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex("clerk_user_email_addresses_user_id_idx")
          .on("clerk_user_email_addresses")
          .column("user_id")
          .execute();
        await db.schema
          .createIndex("clerk_user_email_addresses_email_address_idx")
          .on("clerk_user_email_addresses")
          .column("email_address")
          .execute();
      },
    },
    "0002_organizations_sessions_and_objects": {
      async up(db: Db) {
        const times = { created_at: "bigint", updated_at: "bigint" } as const;
        const metadata = { public_metadata: "json", private_metadata: "json" } as const;
        await createEntityTable(
          db,
          d,
          "clerk_organizations",
          {
            name: "text",
            slug: "key",
            image_url: "text",
            created_by: "key",
            members_count: "bigint",
            max_allowed_memberships: "bigint",
            admin_delete_enabled: "bool",
            ...metadata,
            ...times,
            data: "json",
          },
          ["slug"],
        );
        await createEntityTable(
          db,
          d,
          "clerk_organization_memberships",
          {
            organization_id: "key",
            user_id: "key",
            role: "key",
            permissions: "json",
            public_user_data: "json",
            ...metadata,
            ...times,
            data: "json",
          },
          ["organization_id", "user_id"],
        );
        await createEntityTable(
          db,
          d,
          "clerk_organization_invitations",
          {
            organization_id: "key",
            email_address: "key",
            role: "key",
            status: "key",
            user_id: "key",
            expires_at: "bigint",
            ...metadata,
            ...times,
            data: "json",
          },
          ["organization_id", "email_address"],
        );
        await createEntityTable(
          db,
          d,
          "clerk_organization_domains",
          {
            organization_id: "key",
            name: "key",
            enrollment_mode: "key",
            affiliation_email_address: "text",
            verification: "json",
            ...times,
            data: "json",
          },
          ["organization_id", "name"],
        );
        await createEntityTable(
          db,
          d,
          "clerk_sessions",
          {
            user_id: "key",
            client_id: "key",
            status: "key",
            last_active_organization_id: "key",
            actor: "json",
            last_active_at: "bigint",
            expire_at: "bigint",
            abandon_at: "bigint",
            ...times,
            data: "json",
          },
          ["user_id", "status"],
        );
        await createEntityTable(
          db,
          d,
          "clerk_roles",
          {
            key: "key",
            name: "text",
            description: "text",
            permissions: "json",
            is_creator_eligible: "bool",
            ...times,
            data: "json",
          },
          ["key"],
        );
        await createEntityTable(
          db,
          d,
          "clerk_permissions",
          { key: "key", name: "text", description: "text", type: "key", ...times, data: "json" },
          ["key"],
        );
        await createEntityTable(
          db,
          d,
          "clerk_waitlist_entries",
          { email_address: "key", status: "key", is_locked: "bool", invitation: "json", ...times, data: "json" },
          ["email_address"],
        );
        await createEntityTable(db, d, "clerk_objects", { object_type: "key", status: "key", ...times, data: "json" }, [
          "object_type",
        ]);
      },
    },
    "0003_sync_runs": {
      async up(db: Db) {
        await createTable(db, d, "clerk_sync_runs")
          .addColumn("id", t("key"), (c) => c.primaryKey())
          .addColumn("kind", t("key"), (c) => c.notNull())
          .addColumn("objects", t("key"), (c) => c.notNull())
          .addColumn("status", t("key"), (c) => c.notNull())
          .addColumn("current", t("key"))
          .addColumn("cursor", t("json"))
          .addColumn("counts", t("json"), (c) => c.notNull())
          .addColumn("started_at", t("bigint"), (c) => c.notNull())
          .addColumn("updated_at", t("bigint"), (c) => c.notNull())
          .addColumn("finished_at", t("bigint"))
          .addColumn("error_code", t("key"))
          .addColumn("error_message", t("text"))
          .execute();
        for (const column of ["status", "started_at"]) {
          await db.schema.createIndex(`clerk_sync_runs_${column}_idx`).on("clerk_sync_runs").column(column).execute();
        }
      },
    },
    "0004_attempts_rejections_keyset": {
      async up(db: Db) {
        const events = "clerk_webhook_events";
        await db.schema.alterTable(events).addColumn("payload_pruned_at", t("bigint")).execute();
        // The deliveries list pages newest first by (first_received_at, svix_id) under each
        // filter: one index per filter ending in both, which replace the one-column ones.
        for (const column of ["first_received_at", "object_id", "status", "type"]) {
          const drop = db.schema.dropIndex(`${events}_${column}_idx`);
          await (d.name === "mysql" ? drop.on(events) : drop).execute();
        }
        await db.schema
          .createIndex(`${events}_received_idx`)
          .on(events)
          .columns(["first_received_at", "svix_id"])
          .execute();
        for (const column of ["object_id", "status", "type"]) {
          await db.schema
            .createIndex(`${events}_${column}_received_idx`)
            .on(events)
            .columns([column, "first_received_at", "svix_id"])
            .execute();
        }
        await createTable(db, d, "clerk_webhook_attempts")
          // Primary key columns: NOT NULL on PostgreSQL and MySQL, as the one-column keys (not on SQLite).
          .addColumn("svix_id", t("key"))
          .addColumn("attempt", t("int"))
          .addColumn("received_at", t("bigint"), (c) => c.notNull())
          .addColumn("source", t("key"), (c) => c.notNull())
          .addColumn("outcome", t("key"), (c) => c.notNull())
          .addColumn("http_status", t("int"))
          .addColumn("error_code", t("key"))
          .addColumn("error_message", t("text"))
          .addColumn("duration_ms", t("int"))
          .addPrimaryKeyConstraint("clerk_webhook_attempts_pkey", ["svix_id", "attempt"])
          .execute();
        const rejections = "clerk_webhook_rejections";
        await createTable(db, d, rejections)
          .addColumn("id", t("key"), (c) => c.primaryKey())
          .addColumn("received_at", t("bigint"), (c) => c.notNull())
          .addColumn("code", t("key"), (c) => c.notNull())
          .addColumn("http_status", t("int"), (c) => c.notNull())
          .addColumn("svix_id", t("key"))
          .addColumn("source_address", t("key"))
          .addColumn("header_names", t("text"))
          .addColumn("body_bytes", t("bigint"))
          .execute();
        await db.schema
          .createIndex(`${rejections}_received_idx`)
          .on(rejections)
          .columns(["received_at", "id"])
          .execute();
        await db.schema
          .createIndex(`${rejections}_code_received_idx`)
          .on(rejections)
          .columns(["code", "received_at", "id"])
          .execute();
      },
    },
  };
}

/** The result of a migration run. */
export interface MigrateResult {
  /** Names of the migrations this run applied (empty when already up to date). */
  applied: string[];
}

/** Where and how the migrator runs. */
export interface MigrateOptions {
  /**
   * The caller already holds a lock and a transaction around the run (SQLite's write lock):
   * the migrator opens no transaction of its own.
   */
  inOuterTransaction?: boolean;
  /**
   * The schema of the migration tables (PostgreSQL). Kysely's migrator looks for them in every
   * schema unless told; the stores pass the schema the tables are created in.
   */
  schema?: string | undefined;
}

/**
 * Brings the schema up to date. Safe from many processes at once: the migrator takes a lock
 * (PostgreSQL: an advisory lock, with the migrations in one transaction; MySQL/MariaDB:
 * `GET_LOCK`); on SQLite the caller holds the database's write lock around the whole run
 * (`inOuterTransaction`), which serialises processes. Later processes find the work done.
 *
 * @example
 * await migrate(db, SQLITE);
 */
export async function migrate(
  db: Kysely<unknown>,
  dialect: DialectSpec,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator(db, dialect, options).migrateToLatest();
    if (!error) return { applied: (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName) };
    if (attempt >= 5 || !otherSchemaDropped(error, options.schema)) throw error;
  }
}

/**
 * Whether a migration may have failed only because another schema was dropped while Kysely's
 * migrator looked for its table: on PostgreSQL its catalogue query calls `has_schema_privilege`
 * and `pg_get_serial_sequence` on every table of every schema, which fail when one is dropped at
 * the same moment (3F000 schema, 42P01 relation, 42703 column "does not exist", naming the other
 * schema's objects). Nothing was applied then, and a run again succeeds; a problem of our own
 * schema fails every run, so after a few it is thrown.
 */
function otherSchemaDropped(error: unknown, ours: string | undefined): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof message !== "string") return false;
  if (code === "3F000") return ours === undefined || !message.includes(`"${ours}"`);
  return code === "42P01" || code === "42703";
}

function migrator(db: Kysely<unknown>, dialect: DialectSpec, options: MigrateOptions): Migrator {
  const list = allMigrations(dialect);
  const provider: MigrationProvider = { getMigrations: async () => list };
  return new Migrator({
    db,
    provider,
    disableTransactions: options.inOuterTransaction ?? false,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    ...(options.schema !== undefined ? { migrationTableSchema: options.schema } : {}),
  });
}

/**
 * Names of the migrations not yet applied to this database (all of them on an empty one).
 *
 * @example
 * if ((await pendingMigrations(db, SQLITE)).length > 0) console.log("run clerk-sync migrate");
 */
export async function pendingMigrations(
  db: Kysely<unknown>,
  dialect: DialectSpec,
  options: Pick<MigrateOptions, "schema"> = {},
): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const info = await migrator(db, dialect, options).getMigrations();
      return info.filter((m) => m.executedAt === undefined).map((m) => m.name);
    } catch (error) {
      if (attempt >= 5 || !otherSchemaDropped(error, options.schema)) throw error;
    }
  }
}

/** Names of every migration this version of clerk-sync knows. */
export function migrationNames(dialect: DialectSpec): string[] {
  return Object.keys(allMigrations(dialect));
}
