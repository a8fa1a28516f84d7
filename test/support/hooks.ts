/**
 * Mocha root hook plugin (registered in .mocharc.cjs): one PostgreSQL server per mocha
 * process, started before the first test and stopped after the last, PostgreSQL's SQL parser
 * loaded, and removal of the Pulumi scratch dirs the run created under .work/.
 */
import { loadSqlParser } from "../../src/sql/parser";
import { stopTestServer, testServer } from "./pg";
import { cleanupPulumiWork } from "./pulumi";

/** Folders selected by PGSHIFT_TEST_FOLDERS (see .mocharc.cjs); unit tests need no server. */
function needsServer(): boolean {
    const folders = (process.env.PGSHIFT_TEST_FOLDERS || "unit,integration,e2e")
        .split(",")
        .map((f) => f.trim())
        .filter(Boolean);
    return folders.some((f) => f !== "unit");
}

export const mochaHooks = {
    async beforeAll(this: Mocha.Context) {
        this.timeout(180_000);
        // the pure plans parse SQL; the library's entry points load the parser, tests that call
        // the plans directly rely on this
        await loadSqlParser();
        if (needsServer()) {
            const started = Date.now();
            const { major, url } = await testServer();
            const where = process.env.PGSHIFT_TEST_DATABASE_URL
                ? new URL(url).host
                : "embedded";
            console.log(`  [rig] PostgreSQL ${major} (${where}) ready in ${Date.now() - started} ms`);
        }
    },
    async afterAll(this: Mocha.Context) {
        this.timeout(60_000);
        await stopTestServer();
        await cleanupPulumiWork();
    },
};
