import assert from "node:assert/strict";
import { fitIdentifier, MAX_IDENTIFIER_BYTES, migrationNames, oldName, copyName } from "../../src/names";
import { seededRandom } from "../support/random";

const bytes = (s: string) => Buffer.byteLength(s);

/** True when the string has an unpaired UTF-16 surrogate (which becomes U+FFFD on the wire). */
const hasLoneSurrogate = (s: string) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

/** 1-, 2- and 3-byte characters (no astral ones: see the surrogate-pair test below). */
const ALPHABET = ["a", "z", "_", "0", "9", "$", "é", "ß", "ж", "漢", "字"];

function randomName(rand: () => number, maxLength: number): string {
  const length = Math.floor(rand() * maxLength);
  let s = "";
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return s;
}

describe("fitIdentifier", () => {
  it("returns base + suffix unchanged when it fits", () => {
    assert.equal(fitIdentifier("file_size", "__pgshift_new"), "file_size__pgshift_new");
  });

  it("keeps a name of exactly 63 bytes and shortens one of 64", () => {
    const base50 = "b".repeat(50);
    assert.equal(fitIdentifier(base50, "__pgshift_new"), `${base50}__pgshift_new`); // 63 bytes
    const shortened = fitIdentifier(`${base50}x`, "__pgshift_new"); // would be 64
    assert.equal(bytes(shortened), 63);
    assert.match(shortened, /^b+_[0-9a-f]{8}__pgshift_new$/);
  });

  it("counts bytes, not characters: 40 three-byte characters are shortened", () => {
    const base = "漢".repeat(40); // 40 characters, 120 bytes
    const out = fitIdentifier(base, "_fwd");
    assert.ok(bytes(out) <= MAX_IDENTIFIER_BYTES, `${bytes(out)} bytes`);
    assert.match(out, /^漢+_[0-9a-f]{8}_fwd$/);
  });

  it("property: any base (random, long, multibyte) gives <= 63 bytes, deterministically, keeping the suffix", () => {
    const rand = seededRandom(20240607);
    const suffixes = ["", "_conv", "__pgshift", "__pgshift_new", "__pgshift_notnull", "_fwd_ins"];
    for (let i = 0; i < 2000; i++) {
      const base = randomName(rand, 120);
      const suffix = suffixes[i % suffixes.length];
      const out = fitIdentifier(base, suffix);
      assert.ok(bytes(out) <= MAX_IDENTIFIER_BYTES, `${JSON.stringify(base)} + ${suffix}: ${bytes(out)} bytes`);
      assert.equal(fitIdentifier(base, suffix), out, "deterministic");
      assert.ok(out.endsWith(suffix), `${out} ends with ${suffix}`);
      assert.ok(!hasLoneSurrogate(out));
      if (bytes(base + suffix) <= MAX_IDENTIFIER_BYTES) assert.equal(out, base + suffix);
      else assert.match(out, new RegExp(`_[0-9a-f]{8}${suffix.replace(/\$/g, "\\$")}$`));
    }
  });

  it("gives distinct names to distinct long bases that share a 60-character prefix", () => {
    const prefix = "contentcuration_file_checksum_file_size_original_upload_col_"; // 61 chars
    assert.ok(prefix.length >= 60);
    const rand = seededRandom(7);
    const bases = new Set<string>();
    while (bases.size < 500) bases.add(prefix + randomName(rand, 30) + String(bases.size));
    const outs = new Set([...bases].map((b) => fitIdentifier(b, "__pgshift")));
    assert.equal(outs.size, bases.size);
    for (const o of outs) assert.ok(bytes(o) <= MAX_IDENTIFIER_BYTES);
  });

  it("gives different names to the same long base with different suffixes", () => {
    const base = "x".repeat(80);
    const outs = ["__pgshift_new", "__pgshift_old", "__pgshift_notnull"].map((s) => fitIdentifier(base, s));
    assert.equal(new Set(outs).size, 3);
  });

  // fitIdentifier shortens by code points, never by UTF-16 code units: half a surrogate pair
  // (an emoji or another astral character) would reach PostgreSQL as U+FFFD, so the name
  // pgshift later looks up would never equal the name the catalog holds (a re-run would try
  // to ADD the shadow column again).
  it("never splits a surrogate pair when shortening (astral characters)", () => {
    for (let n = 0; n < 40; n++) {
      const base = "a".repeat(n) + "😀".repeat(20);
      const out = fitIdentifier(base, "__pgshift_new");
      assert.ok(!hasLoneSurrogate(out), `${JSON.stringify(out)} has a lone surrogate (n = ${n})`);
      assert.ok(bytes(out) <= MAX_IDENTIFIER_BYTES);
    }
  });
});

describe("migrationNames", () => {
  it("names every object of a short column after the table and the column", () => {
    assert.deepEqual(migrationNames("public", "contentcuration_file", "file_size"), {
      id: "public.contentcuration_file.file_size",
      shadowColumn: "file_size__pgshift_new",
      oldColumn: "file_size__pgshift_old",
      convertFunction: "pgshift_contentcuration_file_file_size_7770b426_conv",
      reverseConvertFunction: "pgshift_contentcuration_file_file_size_7770b426_rconv",
      forwardTriggerFunction: "pgshift_contentcuration_file_file_size_7770b426_fwd",
      reverseTriggerFunction: "pgshift_contentcuration_file_file_size_7770b426_rev",
      markIrreversibleFunction: "pgshift_contentcuration_file_file_size_7770b426_irrev",
      forwardInsertTrigger: "zzz_pgshift_file_size_fwd_ins",
      forwardUpdateTrigger: "zzz_pgshift_file_size_fwd_upd",
      reverseInsertTrigger: "zzz_pgshift_file_size_rev_ins",
      reverseUpdateTrigger: "zzz_pgshift_file_size_rev_upd",
      backfillProcedure: "pgshift_contentcuration_file_file_size_7770b426_bfill",
      coverTrigger: "zzz_pgshift_file_size_fwd_cov",
      notNullCheck: "file_size__pgshift_notnull",
    });
  });

  it("keeps every name of a 63-byte column within 63 bytes, distinct, with its role still readable", () => {
    const column = "c".repeat(63);
    const table = "t".repeat(63);
    const n = migrationNames("public", table, column);
    const { id, ...identifiers } = n;
    assert.equal(id, `public.${table}.${column}`); // a key, not an identifier: not shortened
    for (const [role, name] of Object.entries(identifiers)) {
      assert.ok(bytes(name) <= MAX_IDENTIFIER_BYTES, `${role}: ${name} has ${bytes(name)} bytes`);
    }
    assert.equal(new Set(Object.values(identifiers)).size, Object.keys(identifiers).length, "all distinct");
    assert.match(n.shadowColumn, /^c+_[0-9a-f]{8}__pgshift_new$/);
    assert.match(n.oldColumn, /^c+_[0-9a-f]{8}__pgshift_old$/);
    assert.match(n.notNullCheck, /^c+_[0-9a-f]{8}__pgshift_notnull$/);
    assert.match(n.convertFunction, /^pgshift_t+_[0-9a-f]{8}_[0-9a-f]{8}_conv$/);
    assert.match(n.forwardUpdateTrigger, /^zzz_pgshift_c+_[0-9a-f]{8}_fwd_upd$/);
  });

  it("gives two long columns that differ only at the end different names", () => {
    const a = migrationNames("public", "t", `${"x".repeat(70)}_a`);
    const b = migrationNames("public", "t", `${"x".repeat(70)}_b`);
    for (const role of ["shadowColumn", "oldColumn", "convertFunction", "forwardInsertTrigger", "forwardUpdateTrigger", "notNullCheck"] as const) {
      assert.notEqual(a[role], b[role], role);
    }
  });

  it("starts every trigger name with zzz_pgshift_ so ours fire after the application's BEFORE triggers", () => {
    for (const column of ["file_size", "a", "Z", "y".repeat(100), "größe"]) {
      const n = migrationNames("public", "contentcuration_file", column);
      for (const trigger of [n.forwardInsertTrigger, n.forwardUpdateTrigger, n.reverseInsertTrigger, n.reverseUpdateTrigger]) {
        assert.ok(trigger.startsWith("zzz_pgshift_"), trigger);
        // BEFORE triggers fire in name order (byte order of the names in the C collation)
        assert.ok(Buffer.compare(Buffer.from(trigger), Buffer.from("set_updated_at")) > 0);
        assert.ok(Buffer.compare(Buffer.from(trigger), Buffer.from("zz_audit")) > 0);
      }
    }
  });

  it("marks shadow and old columns with __pgshift_ (introspection and readLiveState filter on it)", () => {
    const n = migrationNames("app", "t", "col");
    assert.ok(n.shadowColumn.includes("__pgshift_"));
    assert.ok(n.oldColumn.includes("__pgshift_"));
    assert.ok(n.convertFunction.startsWith("pgshift_"));
  });
});

describe("copyName / oldName", () => {
  it("append __pgshift / __pgshift_old and stay within 63 bytes", () => {
    assert.equal(copyName("contentcuration_file_checksum_file_size_idx"), "contentcuration_file_checksum_file_size_idx__pgshift");
    assert.equal(oldName("contentcuration_file_pkey"), "contentcuration_file_pkey__pgshift_old");
    const long = "i".repeat(63);
    assert.ok(bytes(copyName(long)) <= 63);
    assert.ok(bytes(oldName(long)) <= 63);
    assert.notEqual(copyName(long), copyName(`${"i".repeat(62)}j`));
  });
});
