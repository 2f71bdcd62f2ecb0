/**
 * The content-addressed layout of a blob directory (the master's
 * `<data dir>/blobs`, master/blobs/blob-store.ts), shared with the workers
 * that read it in place (worker/blob-client.ts `localFirst`): a blob's id is
 * the sha256 of its bytes in hex, its file `<dir>/<first two digits>/<id>`.
 * No Node imports: the browser's image form checks ids with BLOB_ID too.
 */

export const BLOB_ID = /^[0-9a-f]{64}$/;

/** Where blob `id` lives below its directory (`aa/<id>`), or undefined for a malformed id (no path can be made of one). */
export function blobSubpath(id: string): string | undefined {
  return BLOB_ID.test(id) ? `${id.slice(0, 2)}/${id}` : undefined;
}
