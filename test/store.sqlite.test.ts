import { join } from "node:path";
import { openSqliteStore } from "../src/store/sqlite-store.js";
import { describeStoreConformance } from "./conformance/store-suite.js";
import { useTempDirs } from "./helpers/tmp.js";

const tempDir = useTempDirs("store");

const files = new WeakMap<object, string>();

describeStoreConformance({
  name: "sqlite",
  async fresh() {
    const filename = join(tempDir(), "test.db");
    const store = openSqliteStore({ filename });
    files.set(store, filename);
    return store;
  },
  async sibling(store) {
    return openSqliteStore({ filename: files.get(store) as string });
  },
});
