/** Renders parsed Markdown (markdown.ts) as DOM nodes: text only ever through Text nodes (dom.ts). */
import { h } from './dom.js';
import { parseMarkdown, type Inline } from './markdown.js';

function inlineNodes(inlines: Inline[]): Node[] {
  return inlines.map((x) => {
    switch (x.type) {
      case 'text':
        return document.createTextNode(x.text);
      case 'code':
        return h('code', {}, [x.text]);
      case 'strong':
        return h('strong', {}, [x.text]);
      case 'em':
        return h('em', {}, [x.text]);
      case 'link':
        return h('a', { href: x.href, target: '_blank', rel: 'noopener noreferrer nofollow' }, [x.text]);
    }
  });
}

/** The answer as DOM nodes (text only ever through Text nodes). */
export function renderMarkdown(source: string): Node[] {
  return parseMarkdown(source).map((b) => {
    switch (b.type) {
      case 'p':
        return h('p', {}, inlineNodes(b.inlines));
      case 'heading':
        return h(`h${Math.min(6, b.level + 2) as 3 | 4 | 5 | 6}`, {}, inlineNodes(b.inlines));
      case 'code':
        return h('pre', { class: 'md-code', ...(b.lang && { 'data-lang': b.lang }) }, [h('code', {}, [b.text])]);
      case 'ul':
        return h('ul', {}, b.items.map((it) => h('li', {}, inlineNodes(it))));
      case 'ol':
        return h('ol', b.start !== 1 ? { start: b.start } : {}, b.items.map((it) => h('li', {}, inlineNodes(it))));
    }
  });
}
