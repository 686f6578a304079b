export { drizzleSchema } from "./drizzle.js";
export { kyselySchema } from "./kysely.js";
export { prismaDatasource, prismaExternalTables, prismaSchema } from "./prisma.js";
export { CONTRACT_TABLES, ORM_DIALECTS, type OrmDialect } from "./tables.js";
