// Property test of the column rename in index and constraint copies (src/sql/rewrite.ts)
// against PostgreSQL itself: for random index expressions, partial-index predicates, CHECKs and
// FOREIGN KEYs over a column with an awkward name, pgshift reads the definitions as it does
// for a migration (introspectTable), the column is renamed for real (ALTER TABLE ... RENAME
// COLUMN), and the copy pgshift builds from the old definitions (shadowIndexSql /
// shadowConstraintDefinition, renamed to the new name) must be exactly what PostgreSQL now
// reports for the original (pg_get_indexdef / pg_get_constraintdef, each side rebuilt once
// from PostgreSQL's text, as pgshift's copies are). A reference left behind
// fails to build (the old column is gone); a keyword, type, function name or string literal
// taken for the column shows up as a difference.
//
// PGSHIFT_PROPERTY_SEED replays a run (the seed is in every failure message);
// PGSHIFT_PROPERTY_CASES sets the number of cases (default 120).
import assert from "node:assert/strict";
import type { Client } from "pg";
import { DatabaseError } from "pg";
import { introspectTable } from "../../src/catalog/introspect";
import { shadowConstraintDefinition, shadowIndexSql } from "../../src/sql/indexes";
import { ident } from "../../src/sql/quote";
import { createTestDatabase, withClient, type TestDatabase } from "../support/pg";
import { seededRandom } from "../support/random";
import { COLUMN_NAMES, SqlGen } from "./support/sqlGen";

const SEED = Number(process.env.PGSHIFT_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(process.env.PGSHIFT_PROPERTY_CASES ?? 120);
/** 42P17: "functions in index expression must be marked IMMUTABLE" (such a case becomes a CHECK). */
const NOT_IMMUTABLE = "42P17";

type Made = { kind: "index"; ddl: string } | { kind: "constraint"; ddl: string };

async function indexDef(c: Client, name: string): Promise<string> {
  const { rows } = await c.query<{ def: string }>("SELECT pg_get_indexdef($1::regclass) AS def", [name]);
  return rows[0].def;
}

async function constraintDef(c: Client, name: string): Promise<string> {
  const { rows } = await c.query<{ def: string }>(
    "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'files'::regclass AND conname = $1",
    [name],
  );
  return rows[0].def;
}

/** Creates one random index or constraint named i / k on files over `column`. */
async function makeObject(c: Client, gen: SqlGen, column: string): Promise<Made> {
  const col = ident(column);
  const kind = gen.pick(["index", "index", "partial", "check", "check", "foreign key"] as const);
  if (kind === "foreign key") {
    const ddl = gen.pick([`FOREIGN KEY (${col}) REFERENCES sizes(${col})`, `FOREIGN KEY (other, ${col}) REFERENCES sizes(o, ${col}) ON DELETE CASCADE`]);
    await c.query(`ALTER TABLE files ADD CONSTRAINT k ${ddl}`);
    return { kind: "constraint", ddl };
  }
  if (kind === "check") {
    const ddl = `CHECK (${gen.bool(3)})`;
    await c.query(`ALTER TABLE files ADD CONSTRAINT k ${ddl}`);
    return { kind: "constraint", ddl };
  }
  const keys = [`(${gen.num(2)})`, gen.pick([`(${gen.num(1)})`, col, "other", `(${gen.num(2)}) DESC`])];
  const where = kind === "partial" ? ` WHERE ${gen.bool(2)}` : "";
  const ddl = `CREATE INDEX i ON files (${keys.slice(0, gen.pick([1, 2])).join(", ")})${where}`;
  try {
    await c.query(ddl);
    return { kind: "index", ddl };
  } catch (e) {
    if (!(e instanceof DatabaseError && e.code === NOT_IMMUTABLE)) throw e;
    // not indexable (a stable function): the same expressions as a CHECK
    const check = `CHECK ((${keys[0]}) IS NOT NULL${where.replace(" WHERE ", " AND ")})`;
    await c.query(`ALTER TABLE files ADD CONSTRAINT k ${check}`);
    return { kind: "constraint", ddl: check };
  }
}

describe("renaming a column in index and constraint definitions, against PostgreSQL", function () {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("rewrite_property");
  });

  after(async () => {
    await db?.drop();
  });

  it(`builds copies identical to what PostgreSQL reports after RENAME COLUMN (${CASES} random cases, seed ${SEED})`, async function () {
    this.timeout(300_000);
    const rnd = seededRandom(SEED);
    const counts = { index: 0, constraint: 0, rewritten: 0 };
    await withClient(db.url, async (c) => {
      for (let n = 0; n < CASES; n++) {
        const column = COLUMN_NAMES[Math.floor(rnd() * COLUMN_NAMES.length)];
        const renamed = `${column}__pgshift_new`;
        const gen = new SqlGen(rnd, column, "files");
        const col = ident(column);
        await c.query("DROP TABLE IF EXISTS files, sizes CASCADE");
        await c.query(`CREATE TABLE sizes (o integer, ${col} integer, PRIMARY KEY (o, ${col}), UNIQUE (${col}))`);
        await c.query(`CREATE TABLE files (id integer PRIMARY KEY, other integer, note text, created_at timestamp, ${col} integer)`);
        const made = await makeObject(c, gen, column);
        const context = `case ${n} (seed ${SEED}), column ${col}: ${made.ddl}`;
        const snapshot = await introspectTable(c, "files", column);
        await c.query(`ALTER TABLE files RENAME COLUMN ${col} TO ${ident(renamed)}`);
        counts[made.kind]++;
        if (made.kind === "index") {
          const index = snapshot.indexes.find((i) => i.name === "i");
          assert.ok(index, context);
          const copy = shadowIndexSql(snapshot.qualifiedName, index, column, renamed, "i_copy", "int4");
          await c.query(copy).catch((e: Error) => assert.fail(`${context}\n${copy}\n${e.message}`));
          // PostgreSQL's own text of the renamed original, rebuilt the same way (one more
          // deparse/parse round trip can regroup nested ANDs, so both sides take it)
          const truth = await indexDef(c, "i");
          await c.query(truth.replace(/^CREATE INDEX i ON /, "CREATE INDEX i_ref ON "));
          const expected = (await indexDef(c, "i_ref")).replace(/^CREATE INDEX i_ref ON /, "CREATE INDEX i ON ");
          assert.equal((await indexDef(c, "i_copy")).replace(/^CREATE INDEX i_copy ON /, "CREATE INDEX i ON "), expected, `${context}\n${copy}`);
          if (truth !== index.definition) counts.rewritten++;
        } else {
          const constraint = snapshot.constraints.find((k) => k.name === "k");
          assert.ok(constraint, context);
          const copy = shadowConstraintDefinition(constraint, column, renamed);
          await c.query(`ALTER TABLE files ADD CONSTRAINT k_copy ${copy}`).catch((e: Error) => assert.fail(`${context}\n${copy}\n${e.message}`));
          const truth = await constraintDef(c, "k");
          await c.query(`ALTER TABLE files ADD CONSTRAINT k_ref ${truth} NOT VALID`);
          assert.equal(await constraintDef(c, "k_copy"), await constraintDef(c, "k_ref"), `${context}\n${copy}`);
          if (truth !== constraint.definition) counts.rewritten++;
        }
      }
    });
    console.log(`      ${counts.index} indexes, ${counts.constraint} constraints, ${counts.rewritten} with the column renamed in them`);
    // the generator must reach both kinds and mostly mention the column, or the property says little
    assert.ok(counts.index >= CASES / 5 && counts.constraint >= CASES / 5, JSON.stringify(counts));
    assert.ok(counts.rewritten >= CASES * 0.6, JSON.stringify(counts));
  });
});
