/**
 * The admin-only pages (access, limits): the navigation shows them only to
 * an admin key (probed with GET /api/v1/admin/tenants: 200 for an admin, 403
 * otherwise), and a page opened without one says it is refused instead of
 * asking for another key. The master refuses every admin route to other keys
 * anyway; hiding the links is only for the eye. Small form helpers for the
 * admin pages are here too.
 */
import { h } from '../dom.js';
import { ApiError, type Api } from './api.js';
import { section } from './view-kit.js';

/** True when the key in use may call the admin routes. */
export async function probeAdmin(api: Api): Promise<boolean> {
  try {
    await api.get('/api/v1/admin/tenants');
    return true;
  } catch {
    return false;
  }
}

/**
 * The tenant whose own settings (limits, budgets) this key edits after a
 * cluster-wide route refused it (403): an admin key of one tenant lists that
 * tenant alone; undefined when it lists none or several.
 */
export async function ownTenant(api: Api): Promise<string | undefined> {
  try {
    const { tenants } = await api.get<{ tenants: { id: string }[] }>('/api/v1/admin/tenants');
    return tenants.length === 1 ? tenants[0]!.id : undefined;
  } catch {
    return undefined;
  }
}

/** Shows or hides the navigation links marked `data-admin-only`. */
export function showAdminNav(isAdmin: boolean): void {
  for (const a of document.querySelectorAll<HTMLElement>('[data-admin-only]')) a.hidden = !isAdmin;
}

/** A 403 from an admin route (the key is not an admin's). */
export function isForbidden(err: unknown): boolean {
  return err instanceof ApiError && err.status === 403;
}

/** What a page shows a key that may not use it. */
export function refusedPanel(what: string, err?: unknown): HTMLElement {
  const detail = err instanceof ApiError ? err.message : 'this page needs an admin key';
  return section(what, [h('p', { class: 'muted', id: 'admin-refused', role: 'status' }, [`Refused: ${detail}. Sign in with an admin key to use this page.`])], { id: 'admin-refused-panel' });
}

/** A labelled form control. */
export function labelled(label: string, control: HTMLElement, extra = ''): HTMLLabelElement {
  return h('label', { class: `field ${extra}`.trim() }, [h('span', { class: 'field-label' }, [label]), control]);
}

export function textInput(id: string, placeholder = '', attrs: Record<string, string | number> = {}): HTMLInputElement {
  return h('input', { id, placeholder, maxlength: 200, autocomplete: 'off', spellcheck: 'false', ...attrs });
}

export function select(id: string, options: readonly string[], label: string, current?: string): HTMLSelectElement {
  return h('select', { id, 'aria-label': label }, options.map((o) => h('option', { value: o, selected: o === current }, [o])));
}

export function errorText(err: unknown): string {
  return err instanceof ApiError ? err.message : err instanceof Error ? err.message : String(err);
}
