/** What selects the PostgreSQL store: a postgres:// or postgresql:// URL (TASKWIRE_STORE, --store). */
export function isPostgresUrl(s: string | undefined): s is string {
  return s !== undefined && /^postgres(ql)?:\/\//i.test(s);
}
