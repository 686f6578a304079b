import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SyncEngine } from "../src/core/engine.js";
import { objectMemberText } from "../src/core/json-member.js";
import { parseEvent } from "../src/core/validate.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { FIXTURES_DIR, freshExample } from "../src/testing/fixtures.js";

describe("objectMemberText", () => {
  it("returns an object member's text exactly as written", () => {
    const json = ' { "type" : "user.created",\n "data" :\t{ "id": "user_1", "tags": ["a", {"b": [1, 2]}] } , "n": 1 } ';
    expect(objectMemberText(json, "data")).toBe('{ "id": "user_1", "tags": ["a", {"b": [1, 2]}] }');
  });

  it("skips strings holding braces, brackets, quotes and backslashes", () => {
    const json = '{"a":"} ] { [ \\" \\\\","data":{"s":"}\\"{","t":"\\\\"},"z":"{"}';
    expect(objectMemberText(json, "data")).toBe('{"s":"}\\"{","t":"\\\\"}');
  });

  it("takes the last of repeated keys, as JSON.parse does", () => {
    expect(objectMemberText('{"data":{"n":1},"data":{"n":2}}', "data")).toBe('{"n":2}');
    expect(objectMemberText('{"data":{"n":1},"data":null}', "data")).toBeUndefined();
  });

  it("matches a key written with escapes", () => {
    expect(objectMemberText('{"d\\u0061ta":{"n":1}}', "data")).toBe('{"n":1}');
  });

  it("answers undefined for an absent member, a member that is not an object, and a non-object text", () => {
    expect(objectMemberText('{"type":"x"}', "data")).toBeUndefined();
    expect(objectMemberText("{}", "data")).toBeUndefined();
    expect(objectMemberText('{"data":[1]}', "data")).toBeUndefined();
    expect(objectMemberText('{"data":"{}"}', "data")).toBeUndefined();
    expect(objectMemberText('[{"data":{}}]', "data")).toBeUndefined();
    expect(objectMemberText('{"data":{"unterminated":1', "data")).toBeUndefined();
  });

  it("finds every fixture's data", () => {
    for (const file of readdirSync(FIXTURES_DIR).filter((f) => f.endsWith(".json"))) {
      const text = readFileSync(join(FIXTURES_DIR, file), "utf8");
      const found = objectMemberText(text, "data");
      expect(found, file).toBeDefined();
      expect(JSON.parse(found as string), file).toEqual(JSON.parse(text).data);
    }
  });

  it("on any JSON object, however formatted, gives text that parses to the member JSON.parse gives", () => {
    const member = fc.dictionary(fc.string(), fc.jsonValue());
    const envelope = fc.record({ before: fc.dictionary(fc.string(), fc.jsonValue()), data: member });
    fc.assert(
      fc.property(envelope, fc.constantFrom(undefined, 0, 2, "\t"), ({ before, data }, indent) => {
        const json = JSON.stringify({ ...before, data }, null, indent);
        const found = objectMemberText(json, "data");
        expect(JSON.parse(found as string)).toEqual(JSON.parse(json).data);
      }),
      { numRuns: 500 },
    );
  });
});

describe("the engine's data column", () => {
  it("holds a delivery's data as the delivery carried it, not re-serialised", async () => {
    const store = openSqliteStore({ filename: ":memory:" });
    try {
      await store.migrate();
      const event = freshExample("user.created");
      event.data.first_name = "Zoë";
      // Pretty-printed, with an escaped character: JSON.stringify would write neither.
      const body = JSON.stringify(event, null, 2).replace("Zoë", "Zo\\u00eb");
      const outcome = await new SyncEngine(store).process({
        svixId: "msg_raw",
        rawBody: body,
        parsed: parseEvent(body),
      });
      expect(outcome.outcome).toBe("applied");
      const row = await store.db
        .selectFrom("clerk_users")
        .select(["data", "first_name"])
        .where("id", "=", String(event.data.id))
        .executeTakeFirstOrThrow();
      expect(row.first_name).toBe("Zoë");
      expect(row.data).toBe(objectMemberText(body, "data"));
      expect(String(row.data)).toContain('\n    "first_name": "Zo\\u00eb"');
    } finally {
      await store.close();
    }
  });
});
