import assert from "node:assert/strict";
import { walHeadroomWarning } from "../../src/preflight/walHeadroom";

describe("WAL headroom at preview", () => {
  it("warns only when the table with its indexes is larger than max_wal_size, naming both", () => {
    const gb = 1024 ** 3;
    assert.equal(walHeadroomWarning("public.t.n", { tableBytes: gb, maxWalBytes: gb, maxWalSize: "1GB" }), null);
    assert.equal(walHeadroomWarning("public.t.n", { tableBytes: 150e6, maxWalBytes: gb, maxWalSize: "1GB" }), null);
    const w = walHeadroomWarning("public.t.n", { tableBytes: 3.2e9, maxWalBytes: gb, maxWalSize: "1GB" });
    assert.ok(w !== null && w.startsWith("public.t.n: the table with its indexes (3.20 GB) is larger than max_wal_size (1GB): "), w ?? "null");
    assert.match(w ?? "", /full_page_writes/);
    assert.match(w ?? "", /needs a reload, not a restart/);
  });
});
