/**
 * `taskwire images process <files...>`: uploads images as one batch
 * (POST /api/v1/images, multipart), shows its progress (a line that redraws
 * on a TTY, plain lines otherwise), downloads every output into -o named
 * after its input with the output's extension, and exits 1 when any image
 * failed. The chain comes from flags in a fixed order (crop, resize, rotate,
 * flip, blur, sharpen, brightness, contrast, saturation, grayscale, edge,
 * format) or, for any order, from --chain '<json>'.
 * `taskwire images batches`: the list of batches (GET /api/v1/batches),
 * newest first, --status, --limit, --all pages, --json.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { TaskwireError, errorMessage } from '../common/errors.js';
import { EDGE_KERNELS, IMAGE_FORMATS, RESIZE_FITS, imageChain, type ImageOpInput } from '../common/kinds/image.js';
import { URL_HELP, authHeaders, masterUrl, wantsJson } from './client-commands.js';
import { table } from './operator-commands.js';

interface ImageRow {
  name: string;
  status: string;
  output_blob: string | null;
  content_type: string | null;
  width: number | null;
  height: number | null;
  bytes: number | null;
  cached: boolean;
  error: { code: string; message: string } | null;
}
interface BatchView {
  id: string;
  status: string;
  counts: { total: number; queued: number; running: number; succeeded: number; failed: number };
  images: ImageRow[];
}

export interface ProcessFlags {
  resize?: string;
  fit?: string;
  crop?: string;
  rotate?: string;
  flip?: string;
  blur?: string;
  sharpen?: string;
  brightness?: string;
  contrast?: string;
  saturation?: string;
  grayscale?: boolean;
  edge?: string;
  format?: string;
  quality?: string;
  chain?: string;
}

const num = (flag: string, raw: string): number => {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag}: not a number: "${raw}"`);
  return n;
};

/** `1920x1080`, `1920x` or `x1080`. */
function parseSize(raw: string): { width?: number; height?: number } {
  const m = /^(\d*)x(\d*)$/i.exec(raw.trim());
  if (!m || (!m[1] && !m[2])) throw new InvalidArgumentError(`--resize: expected WIDTHxHEIGHT (1920x1080, 1920x or x1080), got "${raw}"`);
  return { ...(m[1] ? { width: Number(m[1]) } : {}), ...(m[2] ? { height: Number(m[2]) } : {}) };
}

/** The chain from --chain, or from the flags in their fixed order; validated with the kind's schema. */
export function chainFromFlags(o: ProcessFlags): ImageOpInput[] {
  let ops: unknown[];
  if (o.chain !== undefined) {
    try {
      ops = JSON.parse(o.chain) as unknown[];
    } catch {
      throw new InvalidArgumentError(`--chain: not valid JSON: ${o.chain.slice(0, 80)}`);
    }
  } else {
    ops = [];
    if (o.crop !== undefined) {
      const m = /^(\d+),(\d+),(\d+)x(\d+)$/.exec(o.crop.trim());
      if (!m) throw new InvalidArgumentError(`--crop: expected LEFT,TOP,WIDTHxHEIGHT, got "${o.crop}"`);
      ops.push({ op: 'crop', left: Number(m[1]), top: Number(m[2]), width: Number(m[3]), height: Number(m[4]) });
    }
    if (o.resize !== undefined) ops.push({ op: 'resize', ...parseSize(o.resize), ...(o.fit ? { fit: o.fit } : {}) });
    if (o.rotate !== undefined) ops.push({ op: 'rotate', angle: num('--rotate', o.rotate) });
    if (o.flip !== undefined) ops.push({ op: 'flip', direction: o.flip });
    if (o.blur !== undefined) ops.push({ op: 'blur', sigma: num('--blur', o.blur) });
    if (o.sharpen !== undefined) ops.push({ op: 'sharpen', sigma: num('--sharpen', o.sharpen) });
    if (o.brightness !== undefined) ops.push({ op: 'brightness', factor: num('--brightness', o.brightness) });
    if (o.contrast !== undefined) ops.push({ op: 'contrast', factor: num('--contrast', o.contrast) });
    if (o.saturation !== undefined) ops.push({ op: 'saturation', factor: num('--saturation', o.saturation) });
    if (o.grayscale) ops.push({ op: 'grayscale' });
    if (o.edge !== undefined) ops.push({ op: 'edge', kernel: o.edge });
    if (o.format !== undefined) ops.push({ op: 'format', format: o.format, ...(o.quality !== undefined ? { quality: num('--quality', o.quality) } : {}) });
    else if (o.quality !== undefined) throw new InvalidArgumentError('--quality needs --format');
  }
  const parsed = imageChain.safeParse(ops);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = o.chain !== undefined ? `--chain: ops.${issue.path.join('.')}` : `operation ${issue.path.join('.')}`;
    throw new InvalidArgumentError(ops.length === 0 ? 'no operation given (use --resize, --blur, ... or --chain)' : `${where}: ${issue.message}`);
  }
  return ops as ImageOpInput[];
}

const EXT: Record<string, string> = { 'image/jpeg': '.jpg', 'image/png': '.png', 'image/webp': '.webp', 'image/avif': '.avif' };
const INPUT_TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp', '.avif': 'image/avif', '.gif': 'image/gif', '.tif': 'image/tiff', '.tiff': 'image/tiff' };

/** Output file names: the input's base name with the output's extension, made unique. */
export function outputNames(rows: { name: string; content_type: string | null }[]): string[] {
  const used = new Set<string>();
  return rows.map((r) => {
    const stem = basename(r.name, extname(r.name)) || 'image';
    const ext = (r.content_type && EXT[r.content_type]) || extname(r.name) || '.bin';
    let name = `${stem}${ext}`;
    for (let i = 2; used.has(name); i++) name = `${stem}-${i}${ext}`;
    used.add(name);
    return name;
  });
}

async function call(base: string, method: string, path: string, init: { body?: FormData; timeoutMs?: number } = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { method, headers: authHeaders(), body: init.body, signal: AbortSignal.timeout(init.timeoutMs ?? 30_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new TaskwireError('UNAVAILABLE', `cannot reach the master at ${base} (${cause?.code ?? cause?.message ?? errorMessage(err)}); is it running? Point the CLI at it with --url or TASKWIRE_URL`);
  }
  if (!res.ok) {
    const text = await res.text();
    let msg = text.slice(0, 300);
    try {
      msg = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? msg;
    } catch {
      /* not JSON */
    }
    throw new TaskwireError('BAD_REQUEST', `${method} ${base}${path}: HTTP ${res.status}: ${msg}`);
  }
  return res;
}

function progressLine(b: BatchView): string {
  const c = b.counts;
  const done = c.succeeded + c.failed;
  const width = 20;
  const filled = c.total === 0 ? width : Math.round((done / c.total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${c.total}  ${c.succeeded} ok  ${c.failed} failed  ${c.running} running  ${c.queued} queued`;
}

interface RunOptions extends ProcessFlags {
  out: string;
  url?: string;
  timeoutMs: number;
  output?: string;
  json?: boolean;
}

async function processImages(files: string[], o: RunOptions): Promise<void> {
  const ops = chainFromFlags(o);
  const base = masterUrl(o.url);
  const form = new FormData();
  form.set('ops', JSON.stringify(ops));
  for (const f of files) {
    let data: Buffer;
    try {
      data = await readFile(f);
    } catch (err) {
      throw new InvalidArgumentError(`${f}: ${errorMessage(err)}`);
    }
    form.append('files', new Blob([new Uint8Array(data)], { type: INPUT_TYPES[extname(f).toLowerCase()] ?? 'application/octet-stream' }), basename(f));
  }
  let batch = (await (await call(base, 'POST', '/api/v1/images', { body: form, timeoutMs: 300_000 })).json()) as BatchView;
  const json = wantsJson(o);
  const tty = process.stdout.isTTY === true && !json;
  const log = (s: string) => (json ? process.stderr : process.stdout).write(s);
  let last = '';
  const show = (final: boolean) => {
    const line = progressLine(batch);
    if (tty) log(`\r\x1b[2K${batch.id}  ${line}${final ? '\n' : ''}`);
    else if (line !== last) log(`${batch.id}  ${line}\n`);
    last = line;
  };
  show(false);
  const until = Date.now() + o.timeoutMs;
  while (batch.status === 'running') {
    if (Date.now() > until) {
      if (tty) log('\n');
      throw new TaskwireError('UNAVAILABLE', `batch ${batch.id} still running after ${o.timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
    batch = (await (await call(base, 'GET', `/api/v1/batches/${batch.id}`)).json()) as BatchView;
    show(false);
  }
  if (tty) show(true);

  await mkdir(o.out, { recursive: true });
  const names = outputNames(batch.images);
  const written: { input: string; file: string | null; status: string; width: number | null; height: number | null; bytes: number | null; error: string | null }[] = [];
  for (const [i, img] of batch.images.entries()) {
    if (img.status !== 'succeeded' || !img.output_blob) {
      written.push({ input: img.name, file: null, status: img.status, width: null, height: null, bytes: null, error: img.error ? `${img.error.code}: ${img.error.message}` : img.status });
      continue;
    }
    const data = Buffer.from(await (await call(base, 'GET', `/api/v1/blobs/${img.output_blob}`, { timeoutMs: 120_000 })).arrayBuffer());
    const file = join(o.out, names[i]!);
    await writeFile(file, data);
    written.push({ input: img.name, file, status: img.status, width: img.width, height: img.height, bytes: data.length, error: null });
  }
  if (json) process.stdout.write(`${JSON.stringify({ batch: batch.id, status: batch.status, counts: batch.counts, images: written }, null, 2)}\n`);
  else
    for (const w of written)
      process.stdout.write(w.file ? `${w.input} -> ${w.file}  ${w.width}x${w.height}  ${w.bytes} bytes\n` : `${w.input}  FAILED  ${w.error}\n`);
  if (batch.counts.failed > 0 || batch.status !== 'succeeded') process.exitCode = 1;
}

interface BatchSummary {
  id: string;
  status: string;
  created_at_ms: number;
  finished_at_ms: number | null;
  counts: BatchView['counts'];
  ops: { op: string }[];
}

interface ListOptions {
  url?: string;
  status?: string;
  limit: number;
  all?: boolean;
  cursor?: string;
  json?: boolean;
}

/** `taskwire images batches`: GET /api/v1/batches, newest first, one page (or every page with --all). */
async function listBatches(o: ListOptions): Promise<void> {
  const base = masterUrl(o.url);
  const rows: BatchSummary[] = [];
  let cursor = o.cursor;
  let next: string | null = null;
  for (;;) {
    const q = new URLSearchParams({ limit: String(o.limit), ...(o.status && { status: o.status }), ...(cursor && { cursor }) });
    const page = (await (await call(base, 'GET', `/api/v1/batches?${q}`)).json()) as { batches: BatchSummary[]; next_cursor: string | null };
    rows.push(...page.batches);
    next = page.next_cursor;
    if (!o.all || next === null) break;
    cursor = next;
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ batches: rows, next_cursor: next }, null, 2)}\n`);
    return;
  }
  const cells = rows.map((b) => ({
    id: b.id,
    status: b.status,
    created: new Date(b.created_at_ms).toISOString(),
    done: `${b.counts.succeeded}/${b.counts.total}`,
    failed: b.counts.failed,
    running: b.counts.running,
    chain: b.ops.map((op) => op.op).join(' > '),
  }));
  process.stdout.write(table(cells, ['id', 'status', 'created', 'done', 'failed', 'running', 'chain']));
  if (next !== null) process.stderr.write(`more: --cursor ${next}\n`);
}

export function imagesCommand(program: Command): void {
  const images = program.command('images').description('image batches: upload, chain operations, download the outputs');
  const cmd = images
    .command('process <files...>')
    .description('process images as one batch and download every output into -o (exit 1 when any image failed)')
    .requiredOption('-o, --out <dir>', 'where the outputs go (created)')
    .option('--crop <l,t,wxh>', 'crop LEFT,TOP,WIDTHxHEIGHT (first)')
    .option('--resize <wxh>', 'resize to WIDTHxHEIGHT (1920x1080, 1920x, x1080)')
    .addOption(new Option('--fit <mode>', 'resize fit').choices([...RESIZE_FITS]))
    .option('--rotate <deg>', 'rotate by degrees')
    .addOption(new Option('--flip <dir>', 'mirror').choices(['vertical', 'horizontal', 'both']))
    .option('--blur <sigma>', 'Gaussian blur sigma (0.3-1000)')
    .option('--sharpen <sigma>', 'unsharp mask sigma (0.01-10)')
    .option('--brightness <f>', 'brightness factor (1 = unchanged)')
    .option('--contrast <f>', 'contrast factor (1 = unchanged)')
    .option('--saturation <f>', 'saturation factor (0 = grey)')
    .option('--grayscale', 'one channel')
    .addOption(new Option('--edge <kernel>', 'edge detection').choices([...EDGE_KERNELS]))
    .addOption(new Option('--format <fmt>', 'output format (last)').choices([...IMAGE_FORMATS]))
    .option('--quality <1-100>', 'output quality (with --format)')
    .option('--chain <json>', 'the whole chain as JSON, in any order (instead of the operation flags)')
    .addOption(new Option('--timeout-ms <ms>', 'how long to wait for the batch').default(3_600_000).argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--timeout-ms must be a positive integer');
      return n;
    }))
    .option('--url <url>', URL_HELP)
    .option('--json', 'print the result as JSON (progress goes to stderr); -o is the output directory here');
  cmd.action((files: string[], o: RunOptions) => processImages(files, o));
  images
    .command('batches')
    .description("list image batches, newest first (a tenant's key: its tenant's; a user key: its own)")
    .addOption(new Option('--status <status>', 'only batches in this state').choices(['running', 'succeeded', 'failed']))
    .addOption(new Option('--limit <n>', 'batches per page (1-500)').default(50).argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 500) throw new InvalidArgumentError('--limit must be an integer from 1 to 500');
      return n;
    }))
    .option('--all', 'follow next_cursor to the last page')
    .option('--cursor <cursor>', 'start at this next_cursor')
    .option('--url <url>', URL_HELP)
    .option('--json', 'print the page as JSON ({batches, next_cursor})')
    .action((o: ListOptions) => listBatches(o));
}
