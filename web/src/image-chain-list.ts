/**
 * The chat's chain editor for the `image` kind: an ordered list of steps the
 * user builds. "Add" appends the operation picked in the menu; each step has
 * its fields and Up / Down / Remove buttons (labelled with the step's number
 * and operation for screen readers). The list's order is the chain's order.
 * The DOM is the state: moving a step moves its <li> (typed values stay), and
 * the focus follows the step that moved, or goes to a neighbour when one is
 * removed. A step is also dragged by its handle (HTML5 drag and drop) and
 * dropped between two others: a line shows where it goes (before the first
 * step whose middle is below the pointer, else after the last), and the drop
 * moves its <li> as Up / Down do, so the order sent is the order shown. The
 * drag carries a type of its own, so the composer's file drop ignores it and
 * a file dragged over the list is not taken for a step. Built with dom.ts (no
 * innerHTML, no inline script or style: CSP).
 */
import { h } from './dom.js';
import { CHAT_OPS, DEFAULT_STEPS, OP_FIELDS, type ChainStep, type ChatOp } from './image-filters.js';

type Control = HTMLInputElement | HTMLSelectElement;

/** The drag's data type: only a step of this list is dropped on it. */
const STEP_TYPE = 'application/x-taskwire-step';

interface Step {
  op: ChatOp;
  li: HTMLLIElement;
  title: HTMLElement;
  handle: HTMLElement;
  fields: Map<string, Control>;
  up: HTMLButtonElement;
  down: HTMLButtonElement;
  remove: HTMLButtonElement;
}

export class ImageChainList {
  readonly element: HTMLElement;
  private readonly list = h('ol', { id: 'image-chain', class: 'image-chain', 'aria-label': 'Operations, applied in this order' });
  private readonly empty = h('p', { class: 'image-chain-empty', 'data-field': 'chain-empty', hidden: true }, ['No operations: the images are only converted to the output format.']);
  private readonly addOp: HTMLSelectElement;
  private readonly addButton: HTMLButtonElement;
  private readonly steps = new Map<HTMLLIElement, Step>();
  /** Gives each step's controls ids that stay unique when an operation is in the chain twice. */
  private serial = 0;
  /** The step being dragged, and where it would go now. */
  private dragging: Step | null = null;
  private dropTarget: { li: HTMLLIElement; before: boolean } | null = null;

  constructor(initial: readonly ChatOp[] = DEFAULT_STEPS) {
    this.addOp = h('select', { id: 'image-add-op', 'aria-label': 'Operation to add' }, CHAT_OPS.map((op) => h('option', { value: op }, [op])));
    this.addButton = h('button', { type: 'button', id: 'image-add', class: 'button ghost', 'data-action': 'add-step' }, ['Add']);
    this.addButton.addEventListener('click', () => this.add(this.addOp.value as ChatOp, true));
    this.element = h('fieldset', { class: 'image-filters' }, [
      h('legend', { class: 'field-label' }, ['Operations, applied in this order']),
      this.list,
      this.empty,
      h('span', { class: 'image-chain-add' }, [h('label', { for: 'image-add-op', class: 'filter-field' }, ['Add operation']), this.addOp, this.addButton]),
    ]);
    for (const op of initial) this.add(op, false);
    this.renumber();
    this.acceptStepDrops();
  }

  /** The steps in list order, with their raw values. */
  value(): ChainStep[] {
    return this.ordered().map((s) => ({ op: s.op, values: Object.fromEntries([...s.fields].map(([k, c]) => [k, c.value])) }));
  }

  /** Points at a bad field (from the chain check): marks it invalid and focuses it. */
  markInvalid(step: number, field: string | undefined): void {
    for (const s of this.steps.values()) for (const c of s.fields.values()) c.removeAttribute('aria-invalid');
    const s = this.ordered()[step];
    if (!s) return;
    const c = (field !== undefined && s.fields.get(field)) || s.fields.values().next().value || s.remove;
    if (c !== s.remove) c.setAttribute('aria-invalid', 'true');
    c.focus();
  }

  private ordered(): Step[] {
    return [...this.list.children].map((li) => this.steps.get(li as HTMLLIElement)!);
  }

  private add(op: ChatOp, focus: boolean): void {
    const n = ++this.serial;
    const fields = new Map<string, Control>();
    const controls = OP_FIELDS[op].map((f) => {
      const id = `step-${n}-${f.name}`;
      const attrs = { id, 'data-field': f.name, class: 'filter-value' };
      const c: Control = f.choices
        ? h('select', attrs, f.choices.map((v) => h('option', { value: v }, [v])))
        : h('input', { ...f.number, ...attrs, type: 'number', value: f.value });
      c.value = f.value;
      c.addEventListener('input', () => c.removeAttribute('aria-invalid'));
      fields.set(f.name, c);
      return h('span', { class: 'filter-field' }, [h('label', { for: id }, [f.label]), c]);
    });
    const title = h('span', { class: 'step-op' }, [op]);
    const button = (action: string, text: string) => h('button', { type: 'button', class: 'link-button step-button', 'data-action': action }, [text]);
    // The handle is what is dragged (a drag started in a field would fight its text selection); Up / Down stay for the keyboard.
    const handle = h('span', { class: 'step-handle', draggable: 'true', 'data-action': 'drag', title: 'Drag to reorder', 'aria-hidden': 'true' }, ['⠿']);
    const step: Step = { op, li: h('li', { class: 'image-step', 'data-op': op, id: `step-${n}` }), title, handle, fields, up: button('up', 'Up'), down: button('down', 'Down'), remove: button('remove', 'Remove') };
    step.li.append(handle, title, ...controls, h('span', { class: 'step-buttons' }, [step.up, step.down, step.remove]));
    handle.addEventListener('dragstart', (e) => {
      if (!e.dataTransfer) return;
      this.dragging = step;
      e.dataTransfer.effectAllowed = 'move';
      e.dataTransfer.setData(STEP_TYPE, step.li.id);
      e.dataTransfer.setDragImage(step.li, 12, step.li.offsetHeight / 2);
      step.li.classList.add('dragging');
    });
    handle.addEventListener('dragend', () => this.endDrag());
    step.up.addEventListener('click', () => this.move(step, -1));
    step.down.addEventListener('click', () => this.move(step, 1));
    step.remove.addEventListener('click', () => this.drop(step));
    this.steps.set(step.li, step);
    this.list.append(step.li);
    if (!focus) return;
    this.renumber();
    (fields.values().next().value ?? step.remove).focus();
  }

  private move(step: Step, by: -1 | 1): void {
    const sibling = by < 0 ? step.li.previousElementSibling : step.li.nextElementSibling;
    if (!sibling) return;
    if (by < 0) sibling.before(step.li);
    else sibling.after(step.li);
    this.renumber();
    // Moving the <li> drops the focus: give it back to the same button, or to the other one at an end.
    const same = by < 0 ? step.up : step.down;
    (same.disabled ? (by < 0 ? step.down : step.up) : same).focus();
  }

  /** Drag and drop of steps within the list (see the top of the file). */
  private acceptStepDrops(): void {
    this.list.addEventListener('dragover', (e) => {
      if (!this.dragging || !e.dataTransfer?.types.includes(STEP_TYPE)) return;
      e.preventDefault();
      e.stopPropagation();
      e.dataTransfer.dropEffect = 'move';
      this.showDropTarget(this.dropAt(e.clientY));
    });
    this.list.addEventListener('dragleave', (e) => {
      if (!(e.relatedTarget instanceof Node && this.list.contains(e.relatedTarget))) this.showDropTarget(null);
    });
    this.list.addEventListener('drop', (e) => {
      const step = this.dragging;
      if (!step || !e.dataTransfer?.types.includes(STEP_TYPE)) return;
      e.preventDefault();
      e.stopPropagation();
      const at = this.dropAt(e.clientY);
      if (at && at.li !== step.li) {
        if (at.before) at.li.before(step.li);
        else at.li.after(step.li);
        this.renumber();
      }
      this.endDrag();
    });
  }

  /** Where a step dropped at `y` goes: before the first step whose middle is below `y`, else after the last. */
  private dropAt(y: number): { li: HTMLLIElement; before: boolean } | null {
    const all = this.ordered();
    for (const s of all) {
      const r = s.li.getBoundingClientRect();
      if (y < r.top + r.height / 2) return { li: s.li, before: true };
    }
    const last = all.at(-1);
    return last ? { li: last.li, before: false } : null;
  }

  /** The drop indicator: a line above or below one step. */
  private showDropTarget(at: { li: HTMLLIElement; before: boolean } | null): void {
    if (this.dropTarget?.li === at?.li && this.dropTarget?.before === at?.before) return;
    this.dropTarget?.li.classList.remove('drop-before', 'drop-after');
    this.dropTarget = at;
    at?.li.classList.add(at.before ? 'drop-before' : 'drop-after');
  }

  private endDrag(): void {
    this.dragging?.li.classList.remove('dragging');
    this.dragging = null;
    this.showDropTarget(null);
  }

  private drop(step: Step): void {
    const next = (step.li.nextElementSibling ?? step.li.previousElementSibling) as HTMLLIElement | null;
    step.li.remove();
    this.steps.delete(step.li);
    this.renumber();
    if (next) this.steps.get(next)!.remove.focus();
    else this.addOp.focus();
  }

  /** Step numbers in the labels, and Up / Down off at the ends. */
  private renumber(): void {
    const all = this.ordered();
    all.forEach((s, i) => {
      const name = `step ${i + 1} (${s.op})`;
      s.li.dataset['step'] = String(i + 1);
      s.up.disabled = i === 0;
      s.down.disabled = i === all.length - 1;
      s.up.setAttribute('aria-label', `Move ${name} up`);
      s.down.setAttribute('aria-label', `Move ${name} down`);
      s.remove.setAttribute('aria-label', `Remove ${name}`);
      for (const [field, c] of s.fields) c.setAttribute('aria-label', `${name} ${field}`);
    });
    this.empty.hidden = all.length > 0;
  }
}
