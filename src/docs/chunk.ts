/**
 * Markdown into chunks along its headings. A chunk is one section (or a part of a long one), with
 * the path of headings above it; a fenced code block is never cut, and its language is kept.
 */

export interface Chunk {
  /** The headings above this chunk, outermost first (the page title is not repeated here). */
  headings: string[];
  /** The chunk as Markdown, code fences included. */
  content: string;
  /** Prose only (code removed): weighted apart from code in the search index. */
  text: string;
  /** The bodies of the code blocks, for their own weight in the index. */
  code: string;
  /** Languages of the fenced code blocks, as their info strings name them. */
  languages: string[];
  /** An estimate (4 characters a token), for the token budget of query-docs. */
  tokens: number;
}

export interface ChunkOptions {
  /** Sections longer than this are split between paragraphs (never inside a code block). */
  maxChars?: number;
}

export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

interface Block {
  markdown: string;
  code?: { language: string; body: string };
}

const fenceOpen = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const atxHeading = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;

/** Headings' text without inline Markdown (links, emphasis, code ticks). */
const plainHeading = (text: string) =>
  text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_`]/g, '')
    .trim();

/** The first level-1 heading, for pages that have no other title. */
export function firstHeading(markdown: string): string | undefined {
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const open = fenceOpen.exec(line);
    if (open) {
      if (!fence) fence = open[1]![0]!;
      else if (line.trim().startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence) continue;
    const h = atxHeading.exec(line);
    if (h && h[1]!.length === 1) return plainHeading(h[2]!);
  }
  return undefined;
}

export function chunkMarkdown(markdown: string, options: ChunkOptions = {}): Chunk[] {
  const maxChars = options.maxChars ?? 2400;
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const chunks: Chunk[] = [];
  const path: Array<{ level: number; text: string }> = [];
  let blocks: Block[] = [];
  let paragraph: string[] = [];

  const endParagraph = () => {
    if (paragraph.some((l) => l.trim())) blocks.push({ markdown: paragraph.join('\n').trim() });
    paragraph = [];
  };
  const endSection = () => {
    endParagraph();
    const headings = path.map((p) => p.text);
    for (const group of pack(blocks, maxChars)) chunks.push(toChunk(headings, group));
    blocks = [];
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const open = fenceOpen.exec(line);
    if (open) {
      endParagraph();
      const marker = open[1]!;
      const body: string[] = [];
      let j = i + 1;
      // The fence closes with at least as many of the same character; an unclosed one runs to the end.
      while (j < lines.length && !new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`).test(lines[j]!)) body.push(lines[j++]!);
      const closing = j < lines.length ? lines[j]! : marker;
      blocks.push({ markdown: [line, ...body, closing.trim()].join('\n'), code: { language: open[2]!.toLowerCase(), body: body.join('\n') } });
      i = j;
      continue;
    }
    const heading = atxHeading.exec(line);
    if (heading) {
      endSection();
      const level = heading[1]!.length;
      while (path.length && path[path.length - 1]!.level >= level) path.pop();
      path.push({ level, text: plainHeading(heading[2]!) });
      continue;
    }
    if (!line.trim()) endParagraph();
    else paragraph.push(line);
  }
  endSection();
  return chunks;
}

/** Blocks packed into groups of at most maxChars; a block larger than that stands alone, whole. */
function pack(blocks: Block[], maxChars: number): Block[][] {
  const groups: Block[][] = [];
  let current: Block[] = [];
  let size = 0;
  for (const block of blocks) {
    if (current.length && size + block.markdown.length > maxChars) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(block);
    size += block.markdown.length + 2;
  }
  if (current.length) groups.push(current);
  return groups;
}

function toChunk(headings: string[], blocks: Block[]): Chunk {
  const heading = headings.length ? `${'#'.repeat(Math.min(headings.length, 6))} ${headings[headings.length - 1]}\n\n` : '';
  const body = blocks.map((b) => b.markdown).join('\n\n');
  const code = blocks.filter((b) => b.code);
  const content = heading + body;
  return {
    headings,
    content,
    text: blocks
      .filter((b) => !b.code)
      .map((b) => b.markdown)
      .join('\n'),
    code: code.map((b) => b.code!.body).join('\n'),
    languages: [...new Set(code.map((b) => b.code!.language).filter(Boolean))],
    tokens: estimateTokens(content),
  };
}
