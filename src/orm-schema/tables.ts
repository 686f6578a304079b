import { TABLES, type TableSpec } from "../core/schema.js";

/** The databases a schema is generated for (MariaDB is `mysql`). */
export type OrmDialect = "sqlite" | "postgres" | "mysql";

export const ORM_DIALECTS: readonly OrmDialect[] = ["sqlite", "postgres", "mysql"];

/** Every table of the contract, in the contract's order: the mirrored tables, the delivery log, the runs. */
export const CONTRACT_TABLES: readonly TableSpec[] = Object.values(TABLES);
