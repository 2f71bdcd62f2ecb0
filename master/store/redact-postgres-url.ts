/** How a PostgreSQL URL appears in logs and errors. */

/** A postgres:// or postgresql:// URL without its password (for logs). */
export function redactPostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}
