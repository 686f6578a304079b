import { randomBytes } from "node:crypto";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, describe, it } from "vitest";
import { openMysqlStore } from "../../src/store/mysql/mysql-store.js";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { ClerkSyncStore } from "../../src/store/store.js";
import { useTempDirs } from "./tmp.js";

/** How a test file opens stores of one database kind: `fresh` gives an empty database of its own. */
export interface StoreTarget {
  name: string;
  /** A store on a new, empty database (PostgreSQL: a new schema; MySQL: a new database). */
  fresh(): Promise<ClerkSyncStore>;
  /** Another store (its own connections, as another receiver process has) on the database of `store`. */
  sibling(store: ClerkSyncStore): Promise<ClerkSyncStore>;
  /** The `DATABASE_URL` of the database of `store`, for processes (network databases only). */
  url?(store: ClerkSyncStore): string;
  /** Why the database server cannot be used; the target's tests are skipped, or fail under CI. */
  unavailable?: string;
}

/**
 * Server URLs: `TEST_POSTGRES_URL` / `TEST_MYSQL_URL`, else the local defaults. Each run works
 * in schemas / databases of its own (`clerk_sync_test_…`), dropped after the file's tests.
 */
const POSTGRES_URLS = process.env.TEST_POSTGRES_URL
  ? [process.env.TEST_POSTGRES_URL]
  : ["postgres://postgres@127.0.0.1:5432/test", "postgres://root@127.0.0.1:5432/test"];
const MYSQL_URLS = process.env.TEST_MYSQL_URL ? [process.env.TEST_MYSQL_URL] : ["mysql://root@127.0.0.1:3306/test"];

const IN_CI = process.env.CI === "true" || process.env.CI === "1";

const hidePassword = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
const uniqueName = () => `clerk_sync_test_${randomBytes(6).toString("hex")}`;

/**
 * `describe` for a target's tests: skipped with the reason when its server is unreachable, or,
 * under `CI=true`, one failing test carrying the connection error.
 */
export function describeTarget(target: StoreTarget, title: string, body: () => void): void {
  if (target.unavailable === undefined) {
    describe(title, body);
  } else if (IN_CI) {
    describe(title, () => {
      it(`connects to ${target.name}`, () => {
        throw new Error(`${target.unavailable} (CI=true: a database server of the test matrix must be reachable)`);
      });
    });
  } else {
    describe.skip(`${title} [skipped: ${target.unavailable}]`, body);
  }
}

function unavailable(name: string, reason: string): StoreTarget {
  const fail = () => Promise.reject(new Error(reason));
  return { name, unavailable: reason, fresh: fail, sibling: fail };
}

async function firstReachable(urls: readonly string[], probe: (url: string) => Promise<void>) {
  const errors: string[] = [];
  for (const url of urls) {
    try {
      await probe(url);
      return { url };
    } catch (error) {
      errors.push(`${hidePassword(url)}: ${(error as Error).message || String(error)}`);
    }
  }
  return { reason: errors.join("; ") };
}

/** SQLite in memory: one connection, so no sibling (tests that need one use files). */
export function sqliteMemoryTarget(): StoreTarget {
  return {
    name: "sqlite",
    fresh: async () => openSqliteStore({ filename: ":memory:" }),
    sibling: () => Promise.reject(new Error("an in-memory SQLite database has no second connection")),
  };
}

/**
 * SQLite files: deliveries without hooks go through each store's writer thread, and a sibling is
 * a second store (second writer thread) on the same file, as a second process would be.
 */
export function sqliteFileTarget(): StoreTarget {
  const tempDir = useTempDirs("sqlite-target");
  const files = new WeakMap<ClerkSyncStore, string>();
  const open = (filename: string) => {
    const store = openSqliteStore({ filename });
    files.set(store, filename);
    return store;
  };
  return {
    name: "sqlite-file",
    fresh: async () => open(join(tempDir(), "test.db")),
    sibling: async (store) => open(files.get(store) as string),
  };
}

/** PostgreSQL: each `fresh()` store works in a schema of its own (its connections' search_path). */
export async function postgresTarget(): Promise<StoreTarget> {
  const found = await firstReachable(POSTGRES_URLS, async (url) => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query("select 1");
    } finally {
      await client.end().catch(() => undefined);
    }
  });
  if (found.url === undefined) {
    return unavailable("postgres", `PostgreSQL unreachable (${found.reason}); set TEST_POSTGRES_URL`);
  }
  const url = found.url;
  const schemas = new WeakMap<ClerkSyncStore, string>();
  const created: string[] = [];
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      for (const schema of created) await admin.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await admin.end();
    }
  });
  const open = async (schema: string) => {
    const store = await openPostgresStore({ url, schema });
    schemas.set(store, schema);
    return store;
  };
  return {
    name: "postgres",
    async fresh() {
      // Not created here: migrate() creates a missing schema (concurrently, in one test).
      const schema = uniqueName();
      created.push(schema);
      return open(schema);
    },
    sibling: (store) => open(schemas.get(store) as string),
    url(store) {
      const withSchema = new URL(url);
      withSchema.searchParams.set("schema", schemas.get(store) as string);
      return withSchema.toString();
    },
  };
}

/** MySQL / MariaDB: each `fresh()` store works in a database of its own. */
export async function mysqlTarget(): Promise<StoreTarget> {
  const found = await firstReachable(MYSQL_URLS, async (url) => {
    const connection = await mysql.createConnection({ uri: url, connectTimeout: 3000 });
    try {
      await connection.query("select 1");
    } finally {
      await connection.end().catch(() => undefined);
    }
  });
  if (found.url === undefined) {
    return unavailable("mysql", `MySQL/MariaDB unreachable (${found.reason}); set TEST_MYSQL_URL`);
  }
  const server = new URL(found.url);
  const admin = mysql.createPool({ uri: found.url, connectionLimit: 2 });
  const databases = new WeakMap<ClerkSyncStore, string>();
  const created: string[] = [];
  afterAll(async () => {
    try {
      for (const name of created) await admin.query(`drop database if exists \`${name}\``);
    } finally {
      await admin.end();
    }
  });
  const urlOf = (database: string) => {
    const url = new URL(server);
    url.pathname = `/${database}`;
    return url.toString();
  };
  const open = async (database: string) => {
    const store = await openMysqlStore({ url: urlOf(database) });
    databases.set(store, database);
    return store;
  };
  return {
    name: "mysql",
    async fresh() {
      const database = uniqueName();
      created.push(database);
      await admin.query(`create database \`${database}\``);
      return open(database);
    },
    sibling: (store) => open(databases.get(store) as string),
    url: (store) => urlOf(databases.get(store) as string),
  };
}
