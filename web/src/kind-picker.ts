/**
 * The task-kind selector, filled from the kinds the `session` event lists.
 * echo and sleep are grouped and labelled as diagnostics.
 */
import { isKindName } from '../../common/kind-names.js';
import { h, replaceChildren } from './dom.js';
import { DIAGNOSTIC_KINDS, KIND_LABELS, own, preferredKind } from './kind-choice.js';

export { DIAGNOSTIC_KINDS, placeholderFor, preferredKind } from './kind-choice.js';

/** Replaces the options; returns the selected kind (undefined when the cluster serves none). */
export function fillKindPicker(select: HTMLSelectElement, kinds: readonly string[], previous: string | undefined): string | undefined {
  const unique = [...new Set(kinds)].filter(isKindName).sort();
  const tasks = unique.filter((k) => !DIAGNOSTIC_KINDS.has(k));
  const diagnostics = unique.filter((k) => DIAGNOSTIC_KINDS.has(k));
  const option = (kind: string) => h('option', { value: kind }, [own(KIND_LABELS, kind) ?? kind]);

  if (unique.length === 0) {
    replaceChildren(select, [h('option', { value: '' }, ['No task kinds available'])]);
    select.disabled = true;
    return undefined;
  }
  replaceChildren(select, [
    tasks.length > 0 ? h('optgroup', { label: 'Tasks' }, tasks.map(option)) : null,
    diagnostics.length > 0 ? h('optgroup', { label: 'Diagnostics' }, diagnostics.map(option)) : null,
  ]);
  select.disabled = false;
  const selected = preferredKind(unique, previous);
  if (selected !== undefined) select.value = selected;
  return selected;
}
