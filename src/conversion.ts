/**
 * What pgshift knows about type changes, as pure functions over catalog facts: whether a change
 * narrows the column (needs `allowNarrowing`), and whether the cast can never fail (so the
 * pre-flight value scan can be skipped).
 */
export interface TypeDescription {
  /** format_type(oid, typmod): `character varying(32)`. */
  formatted: string;
  /** pg_type.typname: `varchar`. */
  typeName: string;
  /** atttypmod, -1 when none. */
  typmod: number;
}

const INTEGER_DIGITS: Record<string, number> = { int2: 5, int4: 10, int8: 19 };
const INTEGER_RANK: Record<string, number> = { int2: 1, int4: 2, int8: 3 };
const STRING_TYPES = new Set(["varchar", "bpchar", "text"]);

function numericPrecision(t: TypeDescription): { precision: number; scale: number } | null {
  if (t.typeName !== "numeric" || t.typmod < 4) return null;
  const mod = t.typmod - 4;
  return { precision: (mod >> 16) & 0xffff, scale: mod & 0xffff };
}

function stringLength(t: TypeDescription): number | null {
  if (t.typeName === "text" || t.typmod < 4) return null;
  return t.typmod - 4;
}

/** Why `from -> to` can lose values, or null when it cannot. */
export function narrowingReason(from: TypeDescription, to: TypeDescription): string | null {
  // floating point keeps 24 (real) / 53 (double) bits of mantissa
  if ((from.typeName === "int8" && to.typeName === "float8") || ((INTEGER_RANK[from.typeName] ?? 0) >= 2 && to.typeName === "float4")) {
    return `${to.formatted} cannot represent every ${from.formatted} exactly`;
  }
  if (INTEGER_RANK[from.typeName] && INTEGER_RANK[to.typeName] && INTEGER_RANK[to.typeName] < INTEGER_RANK[from.typeName]) {
    return `${to.formatted} holds a smaller range than ${from.formatted}`;
  }
  if (from.typeName === "float8" && to.typeName === "float4") return "real keeps fewer digits than double precision";
  if (["float4", "float8", "numeric"].includes(from.typeName) && INTEGER_RANK[to.typeName]) {
    return `${to.formatted} drops fractional digits`;
  }
  const toNum = numericPrecision(to);
  if (toNum) {
    const fromNum = numericPrecision(from);
    const fromDigits = INTEGER_DIGITS[from.typeName];
    if (fromNum) {
      if (toNum.precision - toNum.scale < fromNum.precision - fromNum.scale) return `${to.formatted} has fewer integer digits than ${from.formatted}`;
      if (toNum.scale < fromNum.scale) return `${to.formatted} has fewer fractional digits than ${from.formatted}`;
    } else if (fromDigits !== undefined) {
      if (toNum.precision - toNum.scale < fromDigits) return `${to.formatted} has fewer integer digits than ${from.formatted}`;
    } else if (from.typeName === "numeric" || from.typeName.startsWith("float")) {
      return `${to.formatted} limits precision that ${from.formatted} does not`;
    }
  }
  if (STRING_TYPES.has(from.typeName) && STRING_TYPES.has(to.typeName)) {
    const toLen = stringLength(to);
    const fromLen = stringLength(from);
    if (toLen !== null && (fromLen === null || toLen < fromLen)) return `${to.formatted} is shorter than ${from.formatted}`;
  }
  if (from.typeName === "timestamptz" && to.typeName === "timestamp") return "timestamp without time zone drops the zone";
  if (["timestamp", "timestamptz", "time", "timetz", "interval"].includes(to.typeName) && to.typeName === from.typeName) {
    if (to.typmod >= 0 && (from.typmod < 0 || to.typmod < from.typmod)) return `${to.formatted} keeps fewer fractional seconds`;
  }
  return null;
}

/**
 * True when the default cast from -> to succeeds for every value of `from` (so no row needs to
 * be checked). Only for the default cast: a user `using` expression is always checked.
 */
export function castAlwaysSucceeds(from: TypeDescription, to: TypeDescription): boolean {
  if (narrowingReason(from, to) !== null) return false;
  if (from.typeName === to.typeName) return true;
  if (INTEGER_RANK[from.typeName] && (INTEGER_RANK[to.typeName] || to.typeName === "numeric" || to.typeName === "float8")) return true;
  if (from.typeName === "float4" && to.typeName === "float8") return true;
  if (STRING_TYPES.has(from.typeName) && (to.typeName === "text" || to.typeName === "varchar")) return true;
  if (from.typeName === "timestamp" && to.typeName === "timestamptz") return true;
  return false;
}

/**
 * True when every value of `from` provably comes back unchanged through the default cast to
 * `to` and the default cast back (old -> new -> old), so the pre-flight need not scan for a
 * loss. A short, explicit list; anything else is checked value by value. Only for the default
 * casts: with `using` or `reverseUsing` the caller always scans. Not on the list on purpose:
 * timestamp -> timestamptz (a local time in a DST gap comes back shifted), char(n), and any
 * change that narrowingReason flags.
 */
export function roundTripProvable(from: TypeDescription, to: TypeDescription): boolean {
  if (narrowingReason(from, to) !== null) return false;
  const fromRank = INTEGER_RANK[from.typeName];
  if (fromRank) {
    if (INTEGER_RANK[to.typeName]) return INTEGER_RANK[to.typeName] >= fromRank;
    // narrowingReason has checked that a constrained numeric has enough integer digits
    if (to.typeName === "numeric") return true;
    if (to.typeName === "float8") return fromRank <= INTEGER_RANK.int4;
    if (to.typeName === "float4") return fromRank === INTEGER_RANK.int2;
    return false;
  }
  if (from.typeName === "float4" && to.typeName === "float8") return true;
  // narrowingReason has checked that a varchar target is at least as long
  if ((from.typeName === "varchar" || from.typeName === "text") && (to.typeName === "text" || to.typeName === "varchar")) return true;
  return false;
}

/** Smallest and largest value of each integer type, by pg_type name, as SQL literals. */
export const INTEGER_BOUNDS: Record<string, [string, string]> = {
  int2: ["-32768", "32767"],
  int4: ["-2147483648", "2147483647"],
  int8: ["-9223372036854775808", "9223372036854775807"],
};

/** pg_type name of each integer type as format_type prints it (a sequence's data type). */
export const INTEGER_TYPE_NAMES: Record<string, string> = { smallint: "int2", integer: "int4", bigint: "int8" };

/** pg_type names of the integer types. */
export const INTEGER_TYPES = Object.keys(INTEGER_RANK);
