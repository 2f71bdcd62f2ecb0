/**
 * The chat's `image` kind: pick several images and build a chain of
 * operations in the order to apply them (image-chain-list.ts); the
 * images go to the master as one batch (POST /api/v1/images, multipart) and
 * the answer bubble follows it (GET /api/v1/batches/:id every 500 ms until it
 * finishes): per image its progress, before/after thumbnails, size and a
 * download; the whole batch as a ZIP, and a link to its dashboard page.
 * Blobs are fetched with the API key (when the master needs one) and shown
 * from object URLs, so thumbnails work behind authentication too.
 */
import type { BatchView } from '../../common/batch-view.js';
import { h, replaceChildren } from './dom.js';
import { ImageChainList } from './image-chain-list.js';
import { OUTPUT_FORMATS, type ChainChoice } from './image-filters.js';

/** What the batch route answers. */
export type BatchInfo = BatchView;

export interface ImageBatchOptions {
  restBase: string;
  /** The API key to send, if any. */
  apiKey: () => string | undefined;
  pollMs?: number;
}

/** Authenticated blob fetches shown through object URLs (revoked when the page goes). */
class BlobUrls {
  private readonly urls = new Map<string, Promise<string>>();
  constructor(private readonly o: ImageBatchOptions) {}

  headers(): Record<string, string> {
    const key = this.o.apiKey();
    return key ? { authorization: `Bearer ${key}` } : {};
  }

  url(path: string): Promise<string> {
    let u = this.urls.get(path);
    if (!u) {
      u = fetch(path, { headers: this.headers() }).then(async (r) => {
        if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
        return URL.createObjectURL(await r.blob());
      });
      this.urls.set(path, u);
    }
    return u;
  }
}

export class ImageBatchComposer {
  readonly element: HTMLElement;
  readonly files: HTMLInputElement;
  private readonly chain = new ImageChainList();
  private readonly format: HTMLSelectElement;
  private readonly quality: HTMLInputElement;
  private readonly blobs: BlobUrls;

  constructor(private readonly o: ImageBatchOptions) {
    this.blobs = new BlobUrls(o);
    this.files = h('input', { id: 'image-files', name: 'files', type: 'file', accept: 'image/*', multiple: true });
    this.format = h('select', { id: 'image-format', name: 'format' }, OUTPUT_FORMATS.map((f) => h('option', { value: f }, [f === 'keep' ? 'same as input' : f])));
    this.format.value = 'webp';
    this.quality = h('input', { id: 'image-quality', type: 'number', min: '1', max: '100', placeholder: 'quality', 'aria-label': 'Quality' });
    this.element = h('div', { id: 'image-batch-field', class: 'image-batch-field', hidden: true }, [
      h('label', { class: 'field' }, [h('span', { class: 'field-label' }, ['Images (several at once, or drop them here)']), this.files]),
      this.chain.element,
      h('label', { class: 'field' }, [h('span', { class: 'field-label' }, ['Output format (always last)']), h('span', { class: 'filter-field' }, [this.format, this.quality])]),
    ]);
    this.acceptDrops();
  }

  /** Images dropped anywhere on the composer become the picked files (non-images are left out). */
  private acceptDrops(): void {
    const el = this.element;
    el.addEventListener('dragover', (e) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      el.classList.add('drop-target');
    });
    el.addEventListener('dragleave', () => el.classList.remove('drop-target'));
    el.addEventListener('drop', (e) => {
      el.classList.remove('drop-target');
      const dropped = [...(e.dataTransfer?.files ?? [])].filter((f) => f.type.startsWith('image/'));
      if (dropped.length === 0) return;
      e.preventDefault();
      const picked = new DataTransfer();
      for (const f of dropped) picked.items.add(f);
      this.files.files = picked.files;
      this.files.dispatchEvent(new Event('change', { bubbles: true }));
    });
  }

  setVisible(visible: boolean): void {
    this.element.hidden = !visible;
  }

  choice(): ChainChoice {
    return { steps: this.chain.value(), format: this.format.value as ChainChoice['format'], quality: this.quality.value };
  }

  /** Uploads the picked files as one batch; the bubble that follows it, or a hint why not. */
  async submit(): Promise<{ element: HTMLLIElement } | { hint: string }> {
    const files = [...(this.files.files ?? [])];
    if (files.length === 0) return { hint: 'Pick one or more images first.' };
    // Loaded on first use: the chain check brings the master's schema (zod) along.
    const { chainFromChoice, describeChain } = await import('./image-chain-form.js');
    const chain = chainFromChoice(this.choice());
    if (!chain.ok) {
      if (chain.step !== undefined) this.chain.markInvalid(chain.step, chain.field);
      return { hint: chain.message };
    }
    const form = new FormData();
    form.set('ops', JSON.stringify(chain.ops));
    for (const f of files) form.append('files', f, f.name);
    let res: Response;
    try {
      res = await fetch(`${this.o.restBase}/images`, { method: 'POST', body: form, headers: this.blobs.headers() });
    } catch {
      return { hint: 'The master did not answer the upload.' };
    }
    const body = (await res.json().catch(() => null)) as (BatchInfo & { error?: { message: string } }) | null;
    if (res.status !== 202 || !body) return { hint: body?.error?.message ?? `The upload was refused (HTTP ${res.status}).` };
    this.files.value = '';
    const bubble = new BatchBubble(body, describeChain(chain.ops), this.o, this.blobs);
    return { element: bubble.element };
  }
}

/** One batch in the chat log, redrawn as it progresses. */
class BatchBubble {
  readonly element: HTMLLIElement;
  private readonly progress = h('progress', { class: 'batch-progress', max: 1, value: 0 });
  private readonly summary = h('p', { class: 'batch-summary', 'data-field': 'summary' });
  private readonly grid = h('ul', { class: 'batch-images' });
  private readonly zip = h('button', { type: 'button', class: 'button ghost', 'data-action': 'zip', hidden: true }, ['Download all (ZIP)']);

  constructor(
    private batch: BatchInfo,
    chain: string,
    private readonly o: ImageBatchOptions,
    private readonly blobs: BlobUrls,
  ) {
    this.element = h('li', { class: 'turn turn--answer image-batch', 'data-kind': 'image', 'data-batch-id': batch.id }, [
      h('div', { class: 'bubble' }, [
        h('p', { class: 'batch-title' }, [`image batch · ${batch.counts.total} image${batch.counts.total === 1 ? '' : 's'} · ${chain}`]),
        this.progress,
        this.summary,
        this.grid,
        h('p', { class: 'batch-links' }, [this.zip, ' ', h('a', { href: `/dashboard/#/batches/${encodeURIComponent(batch.id)}`, target: '_blank', rel: 'noopener', 'data-action': 'dashboard' }, ['Open in the dashboard'])]),
      ]),
    ]);
    this.zip.addEventListener('click', () => void this.download(`${o.restBase}/batches/${encodeURIComponent(batch.id)}/zip`, `${batch.id}.zip`));
    this.render();
    void this.follow();
  }

  private async follow(): Promise<void> {
    while (this.batch.status === 'running') {
      await new Promise((r) => setTimeout(r, this.o.pollMs ?? 500));
      try {
        const res = await fetch(`${this.o.restBase}/batches/${encodeURIComponent(this.batch.id)}`, { headers: this.blobs.headers() });
        if (res.ok) this.batch = (await res.json()) as BatchInfo;
      } catch {
        // the master is away for a moment: try again
      }
      this.render();
    }
  }

  private render(): void {
    const c = this.batch.counts;
    this.progress.max = c.total;
    this.progress.value = c.succeeded + c.failed;
    this.element.dataset['status'] = this.batch.status;
    this.summary.textContent = `${c.succeeded} done, ${c.running} running, ${c.queued} queued, ${c.failed} failed of ${c.total}${this.batch.status === 'running' ? '' : ` · ${this.batch.status}`}`;
    this.zip.hidden = c.succeeded === 0 || this.batch.status === 'running';
    replaceChildren(this.grid, this.batch.images.map((img) => this.card(img)));
  }

  private card(img: BatchInfo['images'][number]): HTMLElement {
    const before = this.thumb(`${this.o.restBase}/blobs/${img.input_blob}`, `${img.name} before`, 'before');
    const after = img.output_blob ? this.thumb(`${this.o.restBase}/blobs/${img.output_blob}`, `${img.name} after`, 'after') : h('span', { class: 'thumb placeholder' }, [img.status]);
    const meta = img.output_blob
      ? `${img.width}×${img.height} · ${formatBytes(img.bytes ?? 0)}${img.ms !== null ? ` · ${img.ms} ms` : ''}${img.worker_id ? ` · ${img.worker_id}` : ''}`
      : (img.error?.message ?? img.status);
    const ext = img.content_type?.split('/')[1] ?? 'img';
    const dl = img.output_blob
      ? h('button', { type: 'button', class: 'link-button', 'data-action': 'download' }, ['Download'])
      : null;
    dl?.addEventListener('click', () => void this.download(`${this.o.restBase}/blobs/${img.output_blob}`, `${img.name.replace(/\.[^.]+$/, '')}.${ext}`));
    return h('li', { class: 'batch-image', 'data-name': img.name, 'data-status': img.status }, [
      h('div', { class: 'thumbs' }, [before, after]),
      h('p', { class: 'image-name' }, [img.name]),
      h('p', { class: 'image-meta' }, [meta]),
      dl,
    ]);
  }

  private thumb(path: string, alt: string, which: string): HTMLElement {
    const el = h('img', { class: 'thumb', alt, 'data-thumb': which, loading: 'lazy' });
    this.blobs.url(path).then((u) => (el.src = u)).catch(() => (el.alt = `${alt} (not readable)`));
    return el;
  }

  private async download(path: string, name: string): Promise<void> {
    const url = await this.blobs.url(path);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  }
}

function formatBytes(n: number): string {
  return n >= 1_000_000 ? `${(n / 1_000_000).toFixed(1)} MB` : n >= 1000 ? `${Math.round(n / 1000)} KB` : `${n} B`;
}
