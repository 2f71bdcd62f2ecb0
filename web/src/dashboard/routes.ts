/** Hash routes of the dashboard; pure (the unit tests import it without a DOM). */

/** A route: the page name and what follows it in the hash (`#/tasks/abc?x=1`). */
export interface Route {
  page: 'overview' | 'workers' | 'worker' | 'queue' | 'tasks' | 'task' | 'settings' | 'usage' | 'access' | 'limits' | 'batches' | 'batch';
  id?: string;
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'workers' && parts[1]) return { page: 'worker', id: decodeURIComponent(parts[1]), params };
  if (parts[0] === 'workers') return { page: 'workers', params };
  if (parts[0] === 'queue') return { page: 'queue', params };
  if (parts[0] === 'settings') return { page: 'settings', params };
  if (parts[0] === 'usage' || parts[0] === 'access' || parts[0] === 'limits') return { page: parts[0], params };
  if (parts[0] === 'tasks' && parts[1]) return { page: 'task', id: decodeURIComponent(parts[1]), params };
  if (parts[0] === 'tasks') return { page: 'tasks', params };
  if (parts[0] === 'batches' && parts[1]) return { page: 'batch', id: decodeURIComponent(parts[1]), params };
  if (parts[0] === 'batches') return { page: 'batches', params };
  return { page: 'overview', params };
}
