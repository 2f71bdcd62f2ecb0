/**
 * The conversation list (role="log"): user turns and answer bubbles. Keeps
 * the newest content in view while the user is at the bottom, and leaves the
 * scroll position alone while they read further up.
 */
import { h } from './dom.js';
import { clockTime } from './format.js';

/** Within this many pixels of the bottom counts as "at the bottom". */
const STICKY_PX = 48;

export class ChatLog {
  readonly #list: HTMLOListElement;
  readonly #scroller: HTMLElement;
  readonly #empty: HTMLElement;
  #stick = true;
  #frame = 0;

  constructor(list: HTMLOListElement, scroller: HTMLElement, empty: HTMLElement) {
    this.#list = list;
    this.#scroller = scroller;
    this.#empty = empty;
    scroller.addEventListener('scroll', () => {
      this.#stick = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < STICKY_PX;
    }, { passive: true });
    // Streamed text grows bubbles without adding nodes to the list: follow size changes too.
    new ResizeObserver(() => this.contentChanged()).observe(list);
  }

  /** Adds what the user sent. `detail` is a short note such as the parsed input; `image` a data URL. */
  addUser(kind: string, text: string, detail?: string, image?: string): void {
    this.#add(
      h('li', { class: 'turn turn--user', 'data-kind': kind }, [
        h('div', { class: 'bubble' }, [
          image ? h('img', { class: 'user-image', src: image, alt: 'Image sent to the task' }) : null,
          text ? h('p', { class: 'user-text' }, [text]) : null,
          h('p', { class: 'turn-meta' }, [`${kind}${detail ? ` · ${detail}` : ''} · ${clockTime()}`]),
        ]),
      ]),
    );
  }

  addAnswer(element: HTMLLIElement): void {
    this.#add(element);
  }

  /** A line from the chat itself (session changes, conversation cleared). */
  addSystem(text: string): void {
    this.#add(h('li', { class: 'turn turn--system' }, [h('p', {}, [text])]));
  }

  /** Call after content inside a bubble changed size. */
  contentChanged(): void {
    if (!this.#stick || this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#scroller.scrollTop = this.#scroller.scrollHeight;
    });
  }

  #add(item: HTMLLIElement): void {
    this.#empty.hidden = true;
    this.#list.append(item);
    this.#stick = true;
    this.contentChanged();
  }
}
