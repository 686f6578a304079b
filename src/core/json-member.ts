const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The text of the object that member `key` of a JSON object holds, exactly as written in `json`
 * (`undefined` if the member is absent or not an object). When the key occurs more than once,
 * the last one wins, as in `JSON.parse`. `json` must be valid JSON (already parsed once): this
 * scans it, it does not check it.
 *
 * It lets a delivery's `data` be stored as Clerk sent it instead of re-serialising the parsed
 * object, which is most of the JSON encoding a delivery needs.
 *
 * @example
 * objectMemberText('{"type":"user.created","data":{"id":"user_1"}}', "data"); // '{"id":"user_1"}'
 */
export function objectMemberText(json: string, key: string): string | undefined {
  let i = skipSpace(json, 0);
  if (json.charCodeAt(i) !== OPEN_BRACE) return undefined;
  i = skipSpace(json, i + 1);
  let found: string | undefined;
  while (json.charCodeAt(i) === QUOTE) {
    const keyEnd = stringEnd(json, i);
    const literal = json.slice(i, keyEnd);
    const name = literal.includes("\\") ? (JSON.parse(literal) as string) : literal.slice(1, -1);
    i = skipSpace(json, keyEnd);
    if (json.charCodeAt(i) !== COLON) return undefined;
    const start = skipSpace(json, i + 1);
    const end = valueEnd(json, start);
    if (end < 0) return undefined;
    if (name === key) found = json.charCodeAt(start) === OPEN_BRACE ? json.slice(start, end) : undefined;
    i = skipSpace(json, end);
    if (json.charCodeAt(i) !== COMMA) break;
    i = skipSpace(json, i + 1);
  }
  return found;
}

function skipSpace(json: string, from: number): number {
  let i = from;
  while (i < json.length && isSpace(json.charCodeAt(i))) i++;
  return i;
}

/**
 * Index just past the string literal that starts at `from` (its opening quote). Jumps from quote
 * to quote (`indexOf` is much faster than a loop over the characters); a quote is the end unless
 * an odd number of backslashes stands before it.
 */
function stringEnd(json: string, from: number): number {
  let i = from + 1;
  for (;;) {
    const quote = json.indexOf('"', i);
    if (quote < 0) return json.length;
    let before = quote - 1;
    while (before > from && json.charCodeAt(before) === BACKSLASH) before--;
    if ((quote - 1 - before) % 2 === 0) return quote + 1;
    i = quote + 1;
  }
}

/** Index just past the value that starts at `from`, or -1 if the text ends first. */
function valueEnd(json: string, from: number): number {
  const first = json.charCodeAt(from);
  if (first === QUOTE) return stringEnd(json, from);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    // A number, true, false or null: it runs to the next delimiter.
    let i = from;
    while (i < json.length) {
      const c = json.charCodeAt(i);
      if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isSpace(c)) break;
      i++;
    }
    return i;
  }
  let depth = 0;
  let i = from;
  while (i < json.length) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(json, i);
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return -1;
}
