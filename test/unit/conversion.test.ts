import assert from "node:assert/strict";
import { castAlwaysSucceeds, narrowingReason, roundTripProvable, type TypeDescription } from "../../src/conversion";

/** TypeDescriptions as describeType reads them (format_type, typname, atttypmod). */
const plain = (formatted: string, typeName: string): TypeDescription => ({ formatted, typeName, typmod: -1 });
/** varchar(n): atttypmod = n + VARHDRSZ (4). */
const varchar = (n: number): TypeDescription => ({ formatted: `character varying(${n})`, typeName: "varchar", typmod: n + 4 });
/** numeric(p,s): atttypmod = ((p << 16) | s) + VARHDRSZ. */
const numeric = (p: number, s: number): TypeDescription => ({ formatted: `numeric(${p},${s})`, typeName: "numeric", typmod: ((p << 16) | s) + 4 });
/** timestamp(p) / timestamptz(p): atttypmod = p. */
const timestamp = (p: number): TypeDescription => ({ formatted: `timestamp(${p}) without time zone`, typeName: "timestamp", typmod: p });

const int2 = plain("smallint", "int2");
const int4 = plain("integer", "int4");
const int8 = plain("bigint", "int8");
const numericAny = plain("numeric", "numeric");
const float4 = plain("real", "float4");
const float8 = plain("double precision", "float8");
const text = plain("text", "text");
const uuid = plain("uuid", "uuid");
const ts = plain("timestamp without time zone", "timestamp");
const tstz = plain("timestamp with time zone", "timestamptz");
const date = plain("date", "date");

const cases: { from: TypeDescription; to: TypeDescription; narrowing: string | null; always: boolean }[] = [
  { from: int4, to: int8, narrowing: null, always: true },
  { from: int2, to: int4, narrowing: null, always: true },
  { from: int2, to: int8, narrowing: null, always: true },
  { from: int8, to: int4, narrowing: "integer holds a smaller range than bigint", always: false },
  { from: int4, to: int2, narrowing: "smallint holds a smaller range than integer", always: false },
  { from: int4, to: numericAny, narrowing: null, always: true },
  { from: int4, to: float8, narrowing: null, always: true },
  { from: numeric(10, 2), to: numeric(20, 2), narrowing: null, always: true },
  { from: numeric(10, 2), to: numeric(12, 4), narrowing: null, always: true },
  { from: numeric(20, 2), to: numeric(10, 2), narrowing: "numeric(10,2) has fewer integer digits than numeric(20,2)", always: false },
  { from: numeric(10, 2), to: numeric(10, 1), narrowing: "numeric(10,1) has fewer fractional digits than numeric(10,2)", always: false },
  { from: numeric(10, 2), to: numeric(10, 3), narrowing: "numeric(10,3) has fewer integer digits than numeric(10,2)", always: false },
  { from: numericAny, to: numeric(10, 2), narrowing: "numeric(10,2) limits precision that numeric does not", always: false },
  { from: float8, to: numeric(30, 10), narrowing: "numeric(30,10) limits precision that double precision does not", always: false },
  { from: int4, to: numeric(5, 0), narrowing: "numeric(5,0) has fewer integer digits than integer", always: false },
  { from: int4, to: numeric(10, 0), narrowing: null, always: true },
  { from: int8, to: numeric(20, 2), narrowing: "numeric(20,2) has fewer integer digits than bigint", always: false },
  { from: numeric(10, 2), to: int8, narrowing: "bigint drops fractional digits", always: false },
  { from: float8, to: int4, narrowing: "integer drops fractional digits", always: false },
  { from: float8, to: float4, narrowing: "real keeps fewer digits than double precision", always: false },
  { from: float4, to: float8, narrowing: null, always: true },
  { from: varchar(32), to: text, narrowing: null, always: true },
  { from: varchar(32), to: varchar(64), narrowing: null, always: true },
  { from: varchar(64), to: varchar(32), narrowing: "character varying(32) is shorter than character varying(64)", always: false },
  { from: text, to: varchar(10), narrowing: "character varying(10) is shorter than text", always: false },
  { from: text, to: plain("character varying", "varchar"), narrowing: null, always: true },
  { from: varchar(32), to: uuid, narrowing: null, always: false },
  { from: text, to: int8, narrowing: null, always: false },
  { from: ts, to: tstz, narrowing: null, always: true },
  { from: tstz, to: ts, narrowing: "timestamp without time zone drops the zone", always: false },
  { from: ts, to: timestamp(3), narrowing: "timestamp(3) without time zone keeps fewer fractional seconds", always: false },
  { from: timestamp(6), to: timestamp(3), narrowing: "timestamp(3) without time zone keeps fewer fractional seconds", always: false },
  { from: timestamp(3), to: ts, narrowing: null, always: true },
];

describe("narrowingReason / castAlwaysSucceeds", () => {
  for (const c of cases) {
    it(`${c.from.formatted} -> ${c.to.formatted}: ${c.narrowing ? "narrowing" : "not narrowing"}, ${c.always ? "always succeeds" : "may fail"}`, () => {
      assert.equal(narrowingReason(c.from, c.to), c.narrowing);
      assert.equal(castAlwaysSucceeds(c.from, c.to), c.always);
    });
  }

  it("a narrowing change never counts as always succeeding", () => {
    for (const c of cases.filter((c) => c.narrowing !== null)) assert.equal(castAlwaysSucceeds(c.from, c.to), false, `${c.from.formatted} -> ${c.to.formatted}`);
  });

  it("decodes the numeric typmod up to precision 1000", () => {
    assert.equal(narrowingReason(numeric(1000, 0), numeric(999, 0)), "numeric(999,0) has fewer integer digits than numeric(1000,0)");
    assert.equal(narrowingReason(numeric(999, 0), numeric(1000, 0)), null);
    assert.equal(numeric(10, 2).typmod, 655366);
    assert.equal(varchar(32).typmod, 36);
  });

  // date reaches 5874897 AD and timestamp only 294276 AD: SELECT '300000-01-01'::date::timestamp
  // fails with "date out of range for timestamp", so the pre-flight must scan the values.
  it("date -> timestamp can fail (dates beyond 294276 AD): not always succeeding", () => {
    assert.equal(castAlwaysSucceeds(date, ts), false);
    assert.equal(castAlwaysSucceeds(date, tstz), false);
  });

  // bigint -> double precision (53-bit mantissa: 9007199254740993 becomes 9007199254740992) and
  // integer / bigint -> real (24 bits) lose digits, so they need allowNarrowing.
  it("integer -> floating point that loses digits is narrowing", () => {
    assert.notEqual(narrowingReason(int8, float8), null);
    assert.notEqual(narrowingReason(int4, float4), null);
    assert.notEqual(narrowingReason(int8, float4), null);
  });
});

describe("roundTripProvable (old -> new -> old by the default casts, no scan needed)", () => {
  const provable: [TypeDescription, TypeDescription][] = [
    [int2, int4], [int2, int8], [int4, int8], [int4, numericAny], [int4, numeric(10, 0)], [int8, numericAny], [int2, float4],
    [int2, float8], [int4, float8], [float4, float8], [varchar(32), text], [varchar(32), varchar(64)], [text, text],
    [text, plain("character varying", "varchar")],
  ];
  for (const [from, to] of provable) {
    it(`${from.formatted} -> ${to.formatted} is provable`, () => assert.equal(roundTripProvable(from, to), true));
  }
  // each of these loses values a cast back cannot restore (or may: DST gaps), so they are scanned
  const scanned: [TypeDescription, TypeDescription][] = [
    [numericAny, float8], [tstz, date], [text, plain(`"char"`, "char")], [varchar(32), uuid], [ts, tstz], [int8, float8], [int4, float4],
    [int8, int4], [varchar(64), varchar(32)], [numeric(10, 2), numeric(20, 2)], [float8, float4], [date, ts], [text, int8],
  ];
  for (const [from, to] of scanned) {
    it(`${from.formatted} -> ${to.formatted} is scanned`, () => assert.equal(roundTripProvable(from, to), false));
  }
});
