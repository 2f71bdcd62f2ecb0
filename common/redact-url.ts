/** A URL safe to log or print: its password (a cluster token, a broker password) replaced by ***. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (!u.password) return raw;
    u.password = '***';
    return u.toString().replace(/\/$/, raw.endsWith('/') ? '/' : '');
  } catch {
    return raw.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}
