/** The cluster summary line from the periodic `cluster` event. */
import { h, replaceChildren } from './dom.js';
import { plural } from './format.js';
import type { ClusterInfo } from './server-events.js';

export function renderClusterBar(bar: HTMLElement, cluster: ClusterInfo | null): void {
  if (!cluster) {
    replaceChildren(bar, [h('span', { class: 'cluster-item muted' }, ['Cluster status not received yet'])]);
    return;
  }
  const { online, busy, draining } = cluster.workers;
  bar.dataset['workers'] = String(online);
  const items = [
    item('workers', online === 0 ? 'No workers online' : `${plural(online, 'worker')} online`, online === 0 ? 'warn' : 'ok'),
    item('busy', `${busy} busy`),
    draining > 0 ? item('draining', `${draining} draining`) : null,
    item('queued', `${cluster.queued} queued`, cluster.queued > 0 && online === 0 ? 'warn' : undefined),
    item('running', `${cluster.running}/${cluster.capacity} slots in use`),
  ];
  replaceChildren(bar, items);
}

function item(field: string, text: string, tone?: 'ok' | 'warn'): HTMLSpanElement {
  return h('span', { class: `cluster-item${tone ? ` is-${tone}` : ''}`, 'data-field': field }, [text]);
}
