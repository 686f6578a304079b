import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore } from "../src/store/sqlite-store.js";
import { describeStoreConformance } from "./conformance/store-suite.js";

const files = new WeakMap<object, string>();

describeStoreConformance({
  name: "sqlite",
  async fresh() {
    const filename = join(mkdtempSync(join(tmpdir(), "clerk-sync-store-")), "test.db");
    const store = openSqliteStore({ filename });
    files.set(store, filename);
    return store;
  },
  async sibling(store) {
    return openSqliteStore({ filename: files.get(store) as string });
  },
});
