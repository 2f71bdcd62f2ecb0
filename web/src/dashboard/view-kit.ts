/**
 * Small building blocks the dashboard pages share: tables, badges, cards,
 * buttons and JSON blocks. Everything goes through dom.ts's `h`, which only
 * ever sets text: task inputs, results and worker labels are attacker
 * controlled and must stay text.
 */
import { h } from '../dom.js';
import { formatMs } from '../format.js';

export type Cell = Node | string | number | null | undefined;

export function table(caption: string, headers: readonly string[], rows: readonly HTMLTableRowElement[], empty = 'Nothing here yet.'): HTMLElement {
  const body = h('tbody');
  if (rows.length === 0) body.append(h('tr', { class: 'empty' }, [h('td', { colspan: headers.length }, [empty])]));
  else body.append(...rows);
  return h('div', { class: 'table-wrap' }, [
    h('table', { class: 'dash-table' }, [
      h('caption', { class: 'visually-hidden' }, [caption]),
      h('thead', {}, [h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, [x])))]),
      body,
    ]),
  ]);
}

export function row(cells: readonly Cell[], attrs: Record<string, string> = {}, fields: readonly string[] = []): HTMLTableRowElement {
  return h(
    'tr',
    attrs,
    cells.map((c, i) => h('td', { 'data-field': fields[i] }, [c === null || c === undefined ? '–' : typeof c === 'number' ? String(c) : c])),
  );
}

export function badge(value: string, extra = ''): HTMLElement {
  return h('span', { class: `badge badge--${value.replace(/[^a-z_-]/gi, '')} ${extra}`.trim(), 'data-value': value }, [value]);
}

export function card(field: string, label: string, value: string, hint = ''): HTMLElement {
  return h('div', { class: 'card', 'data-field': field }, [
    h('div', { class: 'card-label' }, [label]),
    h('div', { class: 'card-value' }, [value]),
    hint ? h('div', { class: 'card-hint' }, [hint]) : null,
  ]);
}

export function button(label: string, onClick: () => void | Promise<void>, attrs: Record<string, string> = {}, variant = ''): HTMLButtonElement {
  const b = h('button', { type: 'button', class: `button ${variant}`.trim(), ...attrs }, [label]);
  b.addEventListener('click', () => {
    b.disabled = true;
    void Promise.resolve(onClick()).finally(() => {
      b.disabled = false;
    });
  });
  return b;
}

export function link(href: string, text: string, attrs: Record<string, string> = {}): HTMLAnchorElement {
  return h('a', { href, ...attrs }, [text]);
}

/** JSON as indented text in a <pre>; never parsed as markup. */
export function jsonBlock(value: unknown, field: string): HTMLElement {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2) ?? 'null';
  return h('pre', { class: 'json', 'data-field': field, tabindex: 0 }, [text]);
}

export function section(title: string, children: readonly (Node | null)[], attrs: Record<string, string> = {}): HTMLElement {
  return h('section', { class: 'panel', ...attrs }, [h('h2', { class: 'panel-title' }, [title]), ...children]);
}

export function ago(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  return ms < 1000 ? 'just now' : `${formatMs(ms)} ago`;
}

export function rate(perS: number): string {
  return perS >= 10 ? `${Math.round(perS)}/s` : `${Number(perS.toFixed(2))}/s`;
}

export function shortTime(iso: string | null): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export { formatMs };
