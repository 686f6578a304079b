import { parseArgs } from "node:util";
import { ClerkSyncError } from "../../core/errors.js";
import {
  CONTRACT_TABLES,
  drizzleSchema,
  kyselySchema,
  ORM_DIALECTS,
  type OrmDialect,
  prismaExternalTables,
  prismaSchema,
} from "../../orm-schema/index.js";
import { loadEnvFiles } from "../../server/env-files.js";
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from "../../store/schema/migrations.js";
import type { Command } from "../context.js";

const ORMS = ["drizzle", "prisma", "kysely"] as const;
type Orm = (typeof ORMS)[number];

/** The dialect a `DATABASE_URL` names, by its scheme (as `openStore` reads it); SQLite by default. */
function dialectOfUrl(url: string | undefined): OrmDialect {
  const scheme = url === undefined ? undefined : /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") return "postgres";
  if (scheme === "mysql" || scheme === "mariadb") return "mysql";
  return "sqlite";
}

/** The schema text for one ORM and dialect: pure, from the table contract. */
export function ormSchema(orm: Orm, dialect: OrmDialect): string {
  if (orm === "drizzle") return drizzleSchema(CONTRACT_TABLES, dialect);
  if (orm === "kysely") return kyselySchema(CONTRACT_TABLES);
  return prismaSchema(
    CONTRACT_TABLES,
    dialect,
    prismaExternalTables(CONTRACT_TABLES, [MIGRATION_TABLE, MIGRATION_LOCK_TABLE]),
  );
}

export const schemaCommand: Command = {
  name: "schema",
  summary: "Print clerk-sync's tables for your ORM (Drizzle, Prisma, Kysely), to join them with your own",
  usage: `clerk-sync schema --drizzle|--prisma|--kysely [--dialect sqlite|postgres|mysql] > clerk-sync-schema.ts
  --dialect       the database (mysql covers MariaDB); default: the scheme of --database-url or
                  DATABASE_URL, else sqlite. Kysely's types are the same on every database.`,
  async run(ctx) {
    const { values } = parseArgs({
      args: ctx.args,
      options: {
        drizzle: { type: "boolean" },
        prisma: { type: "boolean" },
        kysely: { type: "boolean" },
        dialect: { type: "string" },
        "database-url": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    const chosen = ORMS.filter((orm) => values[orm] === true);
    if (chosen.length !== 1) {
      throw new ClerkSyncError("invalid_config", "Choose one ORM: --drizzle, --prisma or --kysely");
    }
    const dialect = values.dialect;
    if (dialect !== undefined && !(ORM_DIALECTS as readonly string[]).includes(dialect)) {
      throw new ClerkSyncError(
        "invalid_config",
        `--dialect takes ${ORM_DIALECTS.join(", ")} (mysql covers MariaDB), got "${dialect}"`,
      );
    }
    const url = values["database-url"] ?? loadEnvFiles(ctx.cwd, ctx.env).DATABASE_URL;
    ctx.stdout(ormSchema(chosen[0] as Orm, (dialect as OrmDialect | undefined) ?? dialectOfUrl(url)));
    return 0;
  },
};
