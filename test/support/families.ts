import { withClient } from "./pg";

/**
 * Key-family scenarios (issue #9) shared by the integration and e2e tests: a key, the columns
 * that reference it, and the plain-SQL reference a twin database gets (drop the foreign keys,
 * ALTER every member, add the foreign keys again).
 */
export interface FamilyScenario {
  name: string;
  /** Creates and fills the tables. */
  setup: string;
  /** The change as a user writes it: the key column. */
  table: string;
  column: string;
  toType: string;
  using?: string;
  reverseUsing?: string;
  /** The reference: what a DBA would run with the application stopped. */
  reference: string;
  /** Every table of the family with the ORDER BY that compares its rows. */
  tables: { name: string; orderBy: string }[];
  /** Every member as `schema.table.column` (the root first). */
  members: string[];
}

/** 32 hex digits per key (md5), which cast to uuid and back with replace(..., '-', ''). */
const hex = (n: string) => `md5(${n}::text)`;

/**
 * Studio's shape: contentnode.id varchar(32) -> uuid, referenced by its own parent_id (ON DELETE
 * CASCADE), by file.contentnode_id (DEFERRABLE INITIALLY DEFERRED, a partial index on the
 * child side) and by a many-to-many table whose composite primary key contains the column
 * (MATCH FULL, ON UPDATE CASCADE).
 */
export const STUDIO: FamilyScenario = {
  name: "studio",
  setup: `
    CREATE TABLE contentnode (id varchar(32) PRIMARY KEY, parent_id varchar(32) REFERENCES contentnode (id) ON DELETE CASCADE, title text NOT NULL);
    CREATE INDEX contentnode_parent_idx ON contentnode (parent_id);
    INSERT INTO contentnode SELECT ${hex("g")}, CASE WHEN g > 1 THEN ${hex("(g / 2)")} END, 'node ' || g FROM generate_series(1, 300) g;
    CREATE TABLE file (id serial PRIMARY KEY, contentnode_id varchar(32) REFERENCES contentnode (id) DEFERRABLE INITIALLY DEFERRED, file_size integer);
    CREATE INDEX file_contentnode_idx ON file (contentnode_id) WHERE contentnode_id IS NOT NULL;
    INSERT INTO file (contentnode_id, file_size) SELECT CASE WHEN g % 7 = 0 THEN NULL ELSE ${hex("(1 + g % 300)")} END, g FROM generate_series(1, 600) g;
    CREATE TABLE contentnode_tags (contentnode_id varchar(32) NOT NULL REFERENCES contentnode (id) MATCH FULL ON UPDATE CASCADE ON DELETE CASCADE,
                                   tag_id integer NOT NULL, PRIMARY KEY (contentnode_id, tag_id));
    INSERT INTO contentnode_tags SELECT ${hex("(1 + g % 300)")}, g / 300 FROM generate_series(1, 900) g;`,
  table: "contentnode",
  column: "id",
  toType: "uuid",
  reverseUsing: "replace(id::text, '-', '')",
  reference: `
    ALTER TABLE contentnode DROP CONSTRAINT contentnode_parent_id_fkey;
    ALTER TABLE file DROP CONSTRAINT file_contentnode_id_fkey;
    ALTER TABLE contentnode_tags DROP CONSTRAINT contentnode_tags_contentnode_id_fkey;
    ALTER TABLE contentnode ALTER COLUMN id TYPE uuid USING id::uuid, ALTER COLUMN parent_id TYPE uuid USING parent_id::uuid;
    ALTER TABLE file ALTER COLUMN contentnode_id TYPE uuid USING contentnode_id::uuid;
    ALTER TABLE contentnode_tags ALTER COLUMN contentnode_id TYPE uuid USING contentnode_id::uuid;
    ALTER TABLE contentnode ADD CONSTRAINT contentnode_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES contentnode (id) ON DELETE CASCADE;
    ALTER TABLE file ADD CONSTRAINT file_contentnode_id_fkey FOREIGN KEY (contentnode_id) REFERENCES contentnode (id) DEFERRABLE INITIALLY DEFERRED;
    ALTER TABLE contentnode_tags ADD CONSTRAINT contentnode_tags_contentnode_id_fkey FOREIGN KEY (contentnode_id) REFERENCES contentnode (id) MATCH FULL ON UPDATE CASCADE ON DELETE CASCADE;`,
  tables: [
    { name: "contentnode", orderBy: "title" },
    { name: "file", orderBy: "id" },
    { name: "contentnode_tags", orderBy: "tag_id, contentnode_id::text" },
  ],
  members: ["public.contentnode.id", "public.contentnode.parent_id", "public.file.contentnode_id", "public.contentnode_tags.contentnode_id"],
};

/** orders.id serial -> bigint with two child tables (one in another schema). */
export const ORDERS: FamilyScenario = {
  name: "orders",
  setup: `
    CREATE SCHEMA billing;
    CREATE TABLE orders (id serial PRIMARY KEY, note text);
    INSERT INTO orders (note) SELECT 'order ' || g FROM generate_series(1, 500) g;
    CREATE TABLE order_items (id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES orders (id) ON DELETE CASCADE, qty integer);
    CREATE INDEX order_items_order_idx ON order_items (order_id);
    INSERT INTO order_items (order_id, qty) SELECT 1 + g % 500, g FROM generate_series(1, 1500) g;
    CREATE TABLE billing.invoices (id serial PRIMARY KEY, order_id integer REFERENCES orders (id) ON UPDATE CASCADE ON DELETE SET NULL, total numeric(12,2));
    INSERT INTO billing.invoices (order_id, total) SELECT 1 + g % 500, g * 1.5 FROM generate_series(1, 400) g;`,
  table: "orders",
  column: "id",
  toType: "bigint",
  reference: `
    ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey;
    ALTER TABLE billing.invoices DROP CONSTRAINT invoices_order_id_fkey;
    ALTER TABLE orders ALTER COLUMN id TYPE bigint;
    ALTER SEQUENCE orders_id_seq AS bigint;
    ALTER TABLE order_items ALTER COLUMN order_id TYPE bigint;
    ALTER TABLE billing.invoices ALTER COLUMN order_id TYPE bigint;
    ALTER TABLE order_items ADD CONSTRAINT order_items_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE;
    ALTER TABLE billing.invoices ADD CONSTRAINT invoices_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id) ON UPDATE CASCADE ON DELETE SET NULL;`,
  tables: [
    { name: "orders", orderBy: "id" },
    { name: "order_items", orderBy: "id" },
    { name: "billing.invoices", orderBy: "id" },
  ],
  members: ["public.orders.id", "public.order_items.order_id", "billing.invoices.order_id"],
};

/** Three levels: a 1:1 child whose primary key references the key, and a grandchild that references the child's key. */
export const CHAIN: FamilyScenario = {
  name: "chain",
  setup: `
    CREATE TABLE chain_accounts (id serial PRIMARY KEY, name text);
    INSERT INTO chain_accounts (name) SELECT 'a' || g FROM generate_series(1, 300) g;
    CREATE TABLE chain_profiles (account_id integer PRIMARY KEY REFERENCES chain_accounts (id), bio text);
    INSERT INTO chain_profiles SELECT g, 'bio ' || g FROM generate_series(1, 300, 2) g;
    CREATE TABLE chain_photos (id serial PRIMARY KEY, profile_id integer NOT NULL REFERENCES chain_profiles (account_id) ON DELETE CASCADE);
    INSERT INTO chain_photos (profile_id) SELECT 1 + 2 * (g % 150) FROM generate_series(1, 600) g;`,
  table: "chain_accounts",
  column: "id",
  toType: "bigint",
  reference: `
    ALTER TABLE chain_photos DROP CONSTRAINT chain_photos_profile_id_fkey;
    ALTER TABLE chain_profiles DROP CONSTRAINT chain_profiles_account_id_fkey;
    ALTER TABLE chain_accounts ALTER COLUMN id TYPE bigint;
    ALTER SEQUENCE chain_accounts_id_seq AS bigint;
    ALTER TABLE chain_profiles ALTER COLUMN account_id TYPE bigint;
    ALTER TABLE chain_photos ALTER COLUMN profile_id TYPE bigint;
    ALTER TABLE chain_profiles ADD CONSTRAINT chain_profiles_account_id_fkey FOREIGN KEY (account_id) REFERENCES chain_accounts (id);
    ALTER TABLE chain_photos ADD CONSTRAINT chain_photos_profile_id_fkey FOREIGN KEY (profile_id) REFERENCES chain_profiles (account_id) ON DELETE CASCADE;`,
  tables: [
    { name: "chain_accounts", orderBy: "id" },
    { name: "chain_profiles", orderBy: "account_id" },
    { name: "chain_photos", orderBy: "id" },
  ],
  members: ["public.chain_accounts.id", "public.chain_profiles.account_id", "public.chain_photos.profile_id"],
};

/** A composite foreign key that contains the key column next to one that does not change. */
export const COMPOSITE: FamilyScenario = {
  name: "composite",
  setup: `
    CREATE TABLE tenant_items (tenant_id integer, code varchar(32), label text, PRIMARY KEY (tenant_id, code));
    INSERT INTO tenant_items SELECT 1 + g % 3, ${hex("g")}, 'item ' || g FROM generate_series(1, 300) g;
    CREATE TABLE tenant_uses (id integer PRIMARY KEY, tenant_id integer NOT NULL, item_code varchar(32),
                              FOREIGN KEY (tenant_id, item_code) REFERENCES tenant_items (tenant_id, code) ON UPDATE CASCADE);
    INSERT INTO tenant_uses SELECT g, 1 + g % 3, CASE WHEN g % 11 = 0 THEN NULL ELSE ${hex("g")} END FROM generate_series(1, 300) g;`,
  table: "tenant_items",
  column: "code",
  toType: "uuid",
  reverseUsing: "replace(code::text, '-', '')",
  reference: `
    ALTER TABLE tenant_uses DROP CONSTRAINT tenant_uses_tenant_id_item_code_fkey;
    ALTER TABLE tenant_items ALTER COLUMN code TYPE uuid USING code::uuid;
    ALTER TABLE tenant_uses ALTER COLUMN item_code TYPE uuid USING item_code::uuid;
    ALTER TABLE tenant_uses ADD CONSTRAINT tenant_uses_tenant_id_item_code_fkey FOREIGN KEY (tenant_id, item_code) REFERENCES tenant_items (tenant_id, code) ON UPDATE CASCADE;`,
  tables: [
    { name: "tenant_items", orderBy: "label" },
    { name: "tenant_uses", orderBy: "id" },
  ],
  members: ["public.tenant_items.code", "public.tenant_uses.item_code"],
};

export const FAMILY_SCENARIOS = [STUDIO, ORDERS, CHAIN, COMPOSITE];

/** Rows of a child that reference no parent row (must be 0 at every moment). */
export const ORPHANS: Record<string, string> = {
  studio: `SELECT (SELECT count(*) FROM contentnode c WHERE parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM contentnode p WHERE p.id = c.parent_id))
                + (SELECT count(*) FROM file f WHERE contentnode_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM contentnode p WHERE p.id = f.contentnode_id))
                + (SELECT count(*) FROM contentnode_tags t WHERE NOT EXISTS (SELECT 1 FROM contentnode p WHERE p.id = t.contentnode_id)) AS n`,
  orders: `SELECT (SELECT count(*) FROM order_items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id))
               + (SELECT count(*) FROM billing.invoices v WHERE order_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = v.order_id)) AS n`,
  chain: `SELECT (SELECT count(*) FROM chain_profiles p WHERE NOT EXISTS (SELECT 1 FROM chain_accounts a WHERE a.id = p.account_id))
              + (SELECT count(*) FROM chain_photos f WHERE NOT EXISTS (SELECT 1 FROM chain_profiles p WHERE p.account_id = f.profile_id)) AS n`,
  composite: `SELECT count(*) AS n FROM tenant_uses u WHERE item_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tenant_items i WHERE (i.tenant_id, i.code) = (u.tenant_id, u.item_code))`,
};

/** `member type` of every member of the scenario, as format_type prints it. */
export async function memberTypes(url: string, s: FamilyScenario): Promise<string[]> {
  return withClient(url, async (c) => {
    const out: string[] = [];
    for (const m of s.members) {
      const [schema, table, column] = m.split(".");
      const { rows } = await c.query<{ t: string }>(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2`, [`${schema}.${table}`, column]);
      out.push(`${m} ${rows[0]?.t}`);
    }
    return out;
  });
}
