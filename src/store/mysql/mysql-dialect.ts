import { encodeValue, errorField, type NetworkDialectSpec } from "../dialect.js";

/** ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT, ER_CHECKREAD (MariaDB's snapshot isolation). */
const TRANSIENT = new Set([1213, 1205, 1020]);
/**
 * Errnos of content the server refuses, the same on every attempt: 1406 data too long (an id
 * over the 255 characters of a key column), 1366 incorrect string value, 1264 out of range,
 * 1292 / 1265 / 1367 a value truncated or illegal for its type, 1690 BIGINT out of range,
 * 1048 NOT NULL, 3140-3157 invalid JSON (MySQL), 3819 CHECK (MySQL), 4025 CHECK (MariaDB:
 * its JSON columns are LONGTEXT checked by JSON_VALID, which refuses JSON nested 32 or more
 * levels deep), 1118 row size too large, 1153 / 1301 a value over max_allowed_packet.
 */
const REFUSED = new Set([
  1406, 1366, 1264, 1292, 1265, 1367, 1690, 1048, 3140, 3141, 3142, 3143, 3144, 3145, 3146, 3147, 3148, 3149, 3150,
  3151, 3152, 3153, 3154, 3155, 3156, 3157, 3819, 4025, 1118, 1153, 1301,
]);
const backtick = (identifier: string) => `\`${identifier.replaceAll("`", "``")}\``;
const lockTimeout = (ms: number) => `SET SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.ceil(ms / 1000))}`;

/** MySQL and MariaDB (InnoDB). */
export const MYSQL: NetworkDialectSpec = {
  name: "mysql",
  types: {
    columnType: (type) =>
      ({
        text: "text",
        // 255, not 191: an email address can be 254 characters. Indexes over 767 bytes need
        // InnoDB's DYNAMIC rows (the default since MySQL 5.7.7 / MariaDB 10.2.2), as Kysely's own
        // migration table does.
        key: "varchar(255)",
        longtext: "longtext",
        bigint: "bigint",
        int: "integer",
        bool: "boolean",
        json: "json",
      })[type],
    encode: (type, value) => encodeValue(type, value, true),
    parsesJson: false,
    nativeBoolean: false,
    // utf8mb4_bin: Clerk ids are case-sensitive (user_abc ≠ user_ABC), as in PostgreSQL and SQLite.
    tableOptions: "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
  },
  syntax: {
    quote: backtick,
    placeholder: () => "?",
    greatest: "greatest",
    onConflictUpdate: (_key, assignments) => `ON DUPLICATE KEY UPDATE ${assignments.join(", ")}`,
    // A no-op update rather than INSERT IGNORE: it takes an exclusive lock on the stored row (no
    // shared lock to upgrade later, so no deadlock between two claimers), and IGNORE would also
    // silence errors such as a value too long for its column.
    onConflictKeep: (key) => `ON DUPLICATE KEY UPDATE ${backtick(key)} = ${backtick(key)}`,
    // MySQL 8.0.20 deprecates VALUES() here in favour of a row alias MariaDB does not have.
    incoming: (column) => `VALUES(${backtick(column)})`,
    stored: (_table, column) => backtick(column),
    returning: () => undefined,
    lockRows: " FOR UPDATE",
    locksInSubqueries: false,
    combineWrites: undefined,
    // mysql2 interpolates the values into the text: no protocol limit, but the packet's (16 MiB by default).
    maxBinds: 65_535,
    columnArrays: undefined,
  },
  session: {
    currentSchemaQuery: undefined,
    lockTimeout,
    sessionSetup: (ms) => ["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", lockTimeout(ms)],
    begin: (ms, setUp) =>
      setUp
        ? ["START TRANSACTION"]
        : ["SET TRANSACTION ISOLATION LEVEL READ COMMITTED", lockTimeout(ms), "START TRANSACTION"],
    lockTimeoutQuery: () => undefined,
  },
  isTransient: (error) => TRANSIENT.has(errorField(error, "errno") as number),
  classify(error) {
    const errno = errorField(error, "errno");
    // mysql2 gives server errors a numeric errno and a `sqlState`; node's socket errors (ECONNREFUSED) a `code` only.
    if (typeof errno === "number") {
      if (TRANSIENT.has(errno)) return "transient";
      if (REFUSED.has(errno)) return "refused";
      return "unavailable";
    }
    return errorField(error, "code") === undefined ? "unknown" : "unavailable";
  },
};
