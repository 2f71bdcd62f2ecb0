/**
 * Just enough Markdown reading for the protocol doc test: fenced code blocks
 * (with their info string) and heading-delimited sections.
 */

export interface CodeBlock {
  /** The info string after the opening fence, e.g. "json taskwire.v1.ResultBatch". */
  info: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

const FENCE = /^(`{3,}|~{3,})(.*)$/;

export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const out: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith(fence); i++) body.push(lines[i]!);
    out.push({ info: open[2]!.trim(), body: body.join('\n'), line: start + 1 });
  }
  return out;
}

/** Markdown without its fenced code blocks (so headings inside code are not headings). */
export function proseOnly(markdown: string): string {
  const lines = markdown.split('\n');
  let fence: string | undefined;
  return lines
    .map((line) => {
      const open = FENCE.exec(line);
      if (fence === undefined && open) {
        fence = open[1]!;
        return '';
      }
      if (fence !== undefined) {
        if (line.startsWith(fence)) fence = undefined;
        return '';
      }
      return line;
    })
    .join('\n');
}

const HEADING = /^(#{1,6})\s+(.*?)\s*$/;

/**
 * The text under the heading whose title is exactly `title` or `` `title` ``,
 * up to the next heading of the same or a higher level; undefined if absent.
 */
export function section(markdown: string, title: string): string | undefined {
  const lines = proseOnly(markdown).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const h = HEADING.exec(lines[i]!);
    if (!h || (h[2] !== title && h[2] !== `\`${title}\``)) continue;
    const level = h[1]!.length;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const next = HEADING.exec(lines[j]!);
      if (next && next[1]!.length <= level) break;
      body.push(lines[j]!);
    }
    return body.join('\n');
  }
  return undefined;
}

/** True when `name` appears in backticks, e.g. `worker_id`. */
export function mentionsCode(text: string, name: string): boolean {
  return text.includes(`\`${name}\``);
}
