/**
 * Reads a type name as PostgreSQL's grammar (Typename) writes one, and nothing after it:
 *
 * - a name or `schema.name`, unquoted or "quoted", with optional modifiers `(20, 2)`;
 * - the SQL-standard multi-word names and their phrases: `double precision`,
 *   `character [varying]`, `char [varying]`, `national character [varying]`, `bit [varying]`,
 *   `time` / `timestamp` `[(p)] [with | without time zone]`, `interval [fields] [(p)]` with
 *   fields such as `year to month`, `day to second`;
 * - array bounds `[]`, `[3]` (repeated), or `array` / `array[3]`.
 *
 * Whether the type exists is the database's business (describeType); this only decides
 * that the text is a type and not a type followed by something else (`bigint primary key`,
 * `text collate "C"`, `int not null default 1`), which ALTER ... TYPE would never see.
 */

export type TypeNameProblem =
  /** not a type name at all (or punctuation after one: `bigint; ...`, `bigint -- x`) */
  | { kind: "not-a-type" }
  /** a type name, then more words: `type` is the type, `rest` what follows it */
  | { kind: "trailing"; type: string; rest: string };

interface Token {
  kind: "word" | "quoted" | "number" | "punct";
  /** lower-cased for words */
  text: string;
  start: number;
}

function tokenize(text: string): Token[] | null {
  const tokens: Token[] = [];
  const re = /\s+|([A-Za-z_][A-Za-z0-9_$]*)|("(?:[^"]|"")+")|(-?[0-9]+)|([.(),[\]])/y;
  let i = 0;
  while (i < text.length) {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) return null;
    if (m[1] !== undefined) tokens.push({ kind: "word", text: m[1].toLowerCase(), start: i });
    else if (m[2] !== undefined) tokens.push({ kind: "quoted", text: m[2], start: i });
    else if (m[3] !== undefined) tokens.push({ kind: "number", text: m[3], start: i });
    else if (m[4] !== undefined) tokens.push({ kind: "punct", text: m[4], start: i });
    i = re.lastIndex;
  }
  return tokens;
}

const INTERVAL_FIELDS: Record<string, string[]> = {
  year: ["month"],
  month: [],
  day: ["hour", "minute", "second"],
  hour: ["minute", "second"],
  minute: ["second"],
  second: [],
};

/** null when `text` is exactly one type name; else what is wrong. */
export function typeNameProblem(text: string): TypeNameProblem | null {
  const tokens = tokenize(text);
  if (!tokens || tokens.length === 0) return { kind: "not-a-type" };
  let pos = 0;
  const at = (kind: Token["kind"], value?: string): boolean =>
    pos < tokens.length && tokens[pos].kind === kind && (value === undefined || tokens[pos].text === value);
  const word = (...values: string[]): boolean => {
    if (!at("word") || (values.length > 0 && !values.includes(tokens[pos].text))) return false;
    pos++;
    return true;
  };
  /** `(n [, n ...])`; false when a `(` is not followed by a well-formed list */
  const modifiers = (): boolean => {
    if (!at("punct", "(")) return true;
    pos++;
    for (;;) {
      if (!at("number")) return false;
      pos++;
      if (at("punct", ")")) {
        pos++;
        return true;
      }
      if (!at("punct", ",")) return false;
      pos++;
    }
  };
  const name = (): boolean => {
    if (!at("word") && !at("quoted")) return false;
    pos++;
    return true;
  };

  const first = tokens[0];
  const qualified = tokens[1]?.kind === "punct" && tokens[1].text === ".";
  if (first.kind === "word" && !qualified) {
    pos = 1;
    switch (first.text) {
      case "double":
        word("precision");
        break;
      case "national":
        if (!word("character", "char")) return { kind: "not-a-type" };
        word("varying");
        break;
      case "character":
      case "char":
      case "nchar":
      case "bit":
        word("varying");
        break;
      case "interval": {
        const field = at("word") ? tokens[pos].text : "";
        if (field in INTERVAL_FIELDS) {
          pos++;
          if (word("to") && !word(...INTERVAL_FIELDS[field])) return { kind: "not-a-type" };
        }
        break;
      }
    }
    if (!modifiers()) return { kind: "not-a-type" };
    if ((first.text === "time" || first.text === "timestamp") && word("with", "without")) {
      if (!word("time") || !word("zone")) return { kind: "not-a-type" };
    }
  } else {
    if (!name()) return { kind: "not-a-type" };
    if (qualified) {
      pos++;
      if (!name()) return { kind: "not-a-type" };
    }
    if (!modifiers()) return { kind: "not-a-type" };
  }
  // array bounds: [] / [n], repeated; or ARRAY / ARRAY[n]
  if (word("array")) {
    if (at("punct", "[")) {
      pos++;
      if (!at("number")) return { kind: "not-a-type" };
      pos++;
      if (!at("punct", "]")) return { kind: "not-a-type" };
      pos++;
    }
  } else {
    while (at("punct", "[")) {
      pos++;
      if (at("number")) pos++;
      if (!at("punct", "]")) return { kind: "not-a-type" };
      pos++;
    }
  }
  if (pos === tokens.length) return null;
  if (tokens[pos].kind !== "word") return { kind: "not-a-type" };
  const start = tokens[pos].start;
  return { kind: "trailing", type: text.slice(0, start).trim(), rest: text.slice(start).trim() };
}
