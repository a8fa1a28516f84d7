import type { ClientBase } from "pg";
import { PublishedTableError, type PublicationScope } from "../errors";
import { migrationNames } from "../names";
import type { TableSnapshot } from "../snapshot";

/**
 * Refuses a table whose column a logical-replication publication publishes (listed, FOR ALL
 * TABLES or FOR TABLES IN SCHEMA): the shadow column pgshift adds would be published too, and
 * a subscriber that lacks it stops applying changes; at cutover the published column would be
 * renamed under the subscriber. A publication with a column list that leaves the column out
 * publishes none of pgshift's columns (a new column is not added to a column list, and cutover
 * renames only unlisted columns), so it is no obstacle. Column lists exist from PostgreSQL 15
 * on; before that a publication publishes every column.
 */
export async function refusePublished(db: ClientBase, table: TableSnapshot): Promise<void> {
  const { rows: v } = await db.query<{ n: number }>(`SELECT current_setting('server_version_num')::int AS n`);
  const columnLists = v[0].n >= 150000;
  const { rows } = await db.query<{ name: string; scope: PublicationScope }>(
    `SELECT pt.pubname AS name,
            CASE WHEN p.puballtables THEN 'all tables'
                 WHEN EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prpubid = p.oid AND r.prrelid = to_regclass($3)) THEN 'table'
                 ELSE 'schema' END AS scope
       FROM pg_publication_tables pt JOIN pg_publication p ON p.pubname = pt.pubname
      WHERE pt.schemaname = $1 AND pt.tablename = $2 ${columnLists ? "AND $4::name = ANY (pt.attnames)" : "AND $4::text IS NOT NULL"}
      ORDER BY 1`,
    [table.schema, table.name, table.qualifiedName, table.column.name],
  );
  if (rows.length) throw new PublishedTableError(table.qualifiedName, table.column.name, migrationNames(table.schema, table.name, table.column.name).shadowColumn, rows);
}
