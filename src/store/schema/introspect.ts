import { type QueryExecutorProvider, type RawBuilder, sql } from "kysely";
import type { DialectName } from "../dialect.js";

/** A column as the database's catalogue describes it. */
export interface ColumnInfo {
  readonly name: string;
  /** The SQL type, normalised by {@link normalizeSqlType}. */
  readonly type: string;
  readonly nullable: boolean;
  /** The default's SQL text, casts and quotes of numbers removed; null without one. */
  readonly default: string | null;
}

/** A secondary index (not the primary key's). */
export interface IndexInfo {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique: boolean;
}

/** A table as the database's catalogue describes it. */
export interface TableInfo {
  readonly name: string;
  /** In the order of the table's definition. */
  readonly columns: readonly ColumnInfo[];
  readonly primaryKey: readonly string[];
  /** By name. */
  readonly indexes: readonly IndexInfo[];
}

interface CatalogColumn {
  table: string;
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}

interface CatalogIndexColumn {
  table: string;
  index: string;
  column: string;
  unique: boolean;
  primary: boolean;
}

/**
 * What the database holds in the schema unqualified names go to (SQLite: `main`; PostgreSQL:
 * `current_schema()`; MySQL/MariaDB: `database()`): every base table with its columns, primary
 * key and secondary indexes, read from the catalogue (Kysely's introspection leaves out indexes
 * and the length of MySQL's varchar). The migrator's tables are included.
 *
 * @example
 * const tables = await introspectTables(store.db, store.dialect.name);
 */
export async function introspectTables(db: QueryExecutorProvider, dialect: DialectName): Promise<TableInfo[]> {
  const catalog = await CATALOGS[dialect](db);
  return catalog.tables.sort().map((table) => {
    const entries = catalog.indexColumns.filter((c) => c.table === table);
    const indexes = new Map<string, IndexInfo & { columns: string[] }>();
    for (const entry of entries.filter((e) => !e.primary)) {
      const index = indexes.get(entry.index) ?? { name: entry.index, columns: [], unique: entry.unique };
      index.columns.push(entry.column);
      indexes.set(entry.index, index);
    }
    return {
      name: table,
      columns: catalog.columns
        .filter((c) => c.table === table)
        .map((c) => ({
          name: c.name,
          type: normalizeSqlType(dialect, c.type),
          nullable: c.nullable,
          default: normalizeDefault(c.default),
        })),
      primaryKey: entries.filter((e) => e.primary).map((e) => e.column),
      indexes: [...indexes.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    };
  });
}

/**
 * One spelling per SQL type, so that a type a migration asked for (`dialect.types.columnType`)
 * compares equal to what the catalogue answers: lower case; PostgreSQL's internal names
 * (`int8`, `bool`) as the standard ones; MySQL's `boolean` as the `tinyint(1)` it is, `integer`
 * as `int`, integer display widths (`bigint(20)`) dropped.
 *
 * @example
 * normalizeSqlType("mysql", "bigint(20)"); // "bigint"
 */
export function normalizeSqlType(dialect: DialectName, type: string): string {
  const t = type.trim().toLowerCase().replace(/\s+/g, " ");
  if (dialect === "postgres") {
    return POSTGRES_SYNONYMS[t] ?? t.replace(/^character varying/, "varchar").replace(/^character\b/, "char");
  }
  if (dialect === "mysql") {
    if (t === "boolean" || t === "bool") return "tinyint(1)";
    if (t === "integer") return "int";
    return t === "tinyint(1)" ? t : t.replace(/^(bigint|int|mediumint|smallint|tinyint)\(\d+\)/, "$1");
  }
  return t;
}

const POSTGRES_SYNONYMS: Readonly<Record<string, string>> = {
  int8: "bigint",
  int4: "integer",
  int: "integer",
  int2: "smallint",
  bool: "boolean",
};

/** A default's SQL text without PostgreSQL's cast (`'0'::bigint`) or quotes around a number. */
function normalizeDefault(value: string | null): string | null {
  if (value === null || value.toUpperCase() === "NULL") return null;
  const uncast = value.replace(/::[a-z ]+(\(\d+\))?$/i, "");
  return /^'-?\d+(\.\d+)?'$/.test(uncast) ? uncast.slice(1, -1) : uncast;
}

interface Catalog {
  tables: string[];
  columns: CatalogColumn[];
  indexColumns: CatalogIndexColumn[];
}

async function rows<T>(db: QueryExecutorProvider, query: RawBuilder<T>): Promise<T[]> {
  return [...(await query.execute(db)).rows];
}

const CATALOGS: Readonly<Record<DialectName, (db: QueryExecutorProvider) => Promise<Catalog>>> = {
  async sqlite(db) {
    const tables = (
      await rows<{ name: string }>(
        db,
        sql`select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\'`,
      )
    ).map((t) => t.name);
    const columns: CatalogColumn[] = [];
    const indexColumns: CatalogIndexColumn[] = [];
    for (const table of tables) {
      const info = await rows<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>(
        db,
        sql`select name, type, "notnull", dflt_value, pk from pragma_table_info(${table}) order by cid`,
      );
      for (const c of info) {
        // A primary key other than INTEGER PRIMARY KEY accepts NULL in SQLite unless declared
        // NOT NULL (a documented quirk): the catalogue's answer is reported as it is.
        columns.push({ table, name: c.name, type: c.type, nullable: c.notnull === 0, default: c.dflt_value });
      }
      for (const c of info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk)) {
        indexColumns.push({ table, index: "PRIMARY", column: c.name, unique: true, primary: true });
      }
      const indexes = await rows<{ name: string; unique: number; origin: string }>(
        db,
        sql`select name, "unique", origin from pragma_index_list(${table}) where origin <> 'pk' order by name`,
      );
      for (const index of indexes) {
        const parts = await rows<{ name: string }>(
          db,
          sql`select name from pragma_index_info(${index.name}) order by seqno`,
        );
        for (const part of parts) {
          indexColumns.push({
            table,
            index: index.name,
            column: part.name,
            unique: index.unique === 1,
            primary: false,
          });
        }
      }
    }
    return { tables, columns, indexColumns };
  },

  async postgres(db) {
    const tables = (
      await rows<{ name: string }>(
        db,
        sql`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = current_schema() and c.relkind in ('r', 'p')`,
      )
    ).map((t) => t.name);
    const columns = await rows<CatalogColumn>(
      db,
      sql`select c.relname as "table", a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
                 not a.attnotnull as nullable, pg_get_expr(d.adbin, d.adrelid) as "default"
          from pg_attribute a
          join pg_class c on c.oid = a.attrelid
          join pg_namespace n on n.oid = c.relnamespace
          left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
          where n.nspname = current_schema() and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
          order by c.relname, a.attnum`,
    );
    const indexColumns = await rows<CatalogIndexColumn>(
      db,
      sql`select t.relname as "table", i.relname as "index", a.attname as "column",
                 x.indisunique as "unique", x.indisprimary as "primary"
          from pg_index x
          join pg_class t on t.oid = x.indrelid
          join pg_class i on i.oid = x.indexrelid
          join pg_namespace n on n.oid = t.relnamespace
          cross join lateral unnest(x.indkey::int2[]) with ordinality as k(attnum, position)
          join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
          where n.nspname = current_schema()
          order by t.relname, i.relname, k.position`,
    );
    return { tables, columns, indexColumns };
  },

  async mysql(db) {
    const tables = (
      await rows<{ name: string }>(
        db,
        sql`select table_name as name from information_schema.tables
            where table_schema = database() and table_type = 'BASE TABLE'`,
      )
    ).map((t) => t.name);
    const columns = (
      await rows<{ table: string; name: string; type: string; nullable: string; default: string | null }>(
        db,
        sql`select table_name as \`table\`, column_name as name, column_type as type,
                   is_nullable as nullable, column_default as \`default\`
            from information_schema.columns where table_schema = database()
            order by table_name, ordinal_position`,
      )
    ).map((c) => ({ ...c, nullable: c.nullable === "YES" }));
    // MariaDB's JSON is LONGTEXT with a CHECK (json_valid(column)) it adds itself: such a column is json.
    const json = new Set((await mariadbJsonColumns(db)).map((c) => `${c.table}.${c.name}`));
    for (const c of columns) if (json.has(`${c.table}.${c.name}`) && c.type === "longtext") c.type = "json";
    const indexColumns = (
      await rows<{ table: string; index: string; column: string; non_unique: number | string }>(
        db,
        sql`select table_name as \`table\`, index_name as \`index\`, column_name as \`column\`, non_unique as non_unique
            from information_schema.statistics where table_schema = database()
            order by table_name, index_name, seq_in_index`,
      )
    ).map((c) => ({
      table: c.table,
      index: c.index,
      column: c.column,
      unique: Number(c.non_unique) === 0,
      primary: c.index === "PRIMARY",
    }));
    return { tables, columns, indexColumns };
  },
};

/** Columns with MariaDB's `json_valid` check (MySQL has a JSON type and no such column in the catalogue). */
async function mariadbJsonColumns(db: QueryExecutorProvider): Promise<{ table: string; name: string }[]> {
  const [hasTableName] = await rows<{ n: number | string }>(
    db,
    sql`select count(*) as n from information_schema.columns
        where table_schema = 'information_schema' and table_name = 'CHECK_CONSTRAINTS' and column_name = 'TABLE_NAME'`,
  );
  if (Number(hasTableName?.n) === 0) return [];
  const checks = await rows<{ table: string; clause: string }>(
    db,
    sql`select table_name as \`table\`, check_clause as clause
        from information_schema.check_constraints where constraint_schema = database()`,
  );
  return checks.flatMap((c) => {
    const column = /^json_valid\(`([^`]+)`\)$/.exec(c.clause)?.[1];
    return column === undefined ? [] : [{ table: c.table, name: column }];
  });
}
