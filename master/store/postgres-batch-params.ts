/**
 * A batch of rows as the parameters of one statement: a column becomes one
 * array (`unnest($n::type[])` in the statement), and a column of JSON texts
 * becomes one JSON array text (`json_array_elements($n::json)`). The pg driver
 * writes an array as a text literal, escaping every element (each `"` and `\`
 * of a JSON text doubled by two regular-expression passes, a new string per
 * element); the JSON texts joined by commas are already a valid JSON array
 * and go out as they are. `json` (not jsonb) keeps each element's text
 * exactly, so `x::text` in the statement is the text the master made: stored
 * unchanged, lone surrogates and `\u0000` escapes included.
 *
 *   const [ids, records] = batchColumns(rows, 2, new Set([1]));
 *   // ... FROM ROWS FROM (unnest($1::text[]), json_array_elements($2::json)) AS u(id, rec) ... rec::text
 */

/** The JSON array of JSON texts (`null` for none: read it back with nullif(x::text, 'null')). */
export function jsonArrayText(texts: readonly (string | null)[]): string {
  return `[${texts.map((t) => t ?? 'null').join(',')}]`;
}

/** Column arrays of rows (row i's column c at out[c][i]); the columns in `json` as JSON array texts. */
export function batchColumns(rows: readonly unknown[][], width: number, json?: ReadonlySet<number>): unknown[] {
  const out: unknown[][] = Array.from({ length: width }, () => new Array(rows.length));
  for (let i = 0; i < rows.length; i++) for (let c = 0; c < width; c++) out[c]![i] = rows[i]![c];
  if (!json) return out;
  return out.map((col, c) => (json.has(c) ? jsonArrayText(col as (string | null)[]) : col));
}

/**
 * `ROWS FROM (...)` over a batch's parameters $first.. (one per column, in order): `unnest($n::type[])`,
 * or `json_array_elements($n::json)` for a 'json' column (its values are json: `::text` for the text).
 */
export function rowsFrom(types: readonly string[], first = 1): string {
  return `ROWS FROM (${types.map((t, i) => (t === 'json' ? `json_array_elements($${first + i}::json)` : `unnest($${first + i}::${t}[])`)).join(', ')})`;
}

/** The indexes of the 'json' columns of `types` (for batchColumns). */
export function jsonColumns(types: readonly string[]): ReadonlySet<number> {
  return new Set(types.flatMap((t, i) => (t === 'json' ? [i] : [])));
}
