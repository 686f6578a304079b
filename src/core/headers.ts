/** Reads one header by lower-case name; `undefined`/`null` when absent. */
export type HeaderLookup = (name: string) => string | null | undefined;

/** Anything clerk-sync accepts as request headers. */
export type HeaderSource = HeaderLookup | Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * Normalises Web `Headers`, a Node/Express header record, or a lookup function into a lookup.
 *
 * @example
 * const get = toHeaderLookup(req.headers); get("svix-id");
 */
export function toHeaderLookup(source: HeaderSource): HeaderLookup {
  if (typeof source === "function") return source;
  if (typeof Headers !== "undefined" && source instanceof Headers) {
    return (name) => source.get(name);
  }
  const record = source as Readonly<Record<string, string | readonly string[] | undefined>>;
  return (name) => {
    let value = record[name];
    if (value === undefined) {
      // Records built by hand may not be lower-cased as Node's are.
      for (const key of Object.keys(record)) {
        if (key.toLowerCase() === name) {
          value = record[key];
          break;
        }
      }
    }
    return Array.isArray(value) ? value.join(", ") : (value as string | undefined);
  };
}
