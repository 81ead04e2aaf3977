import path from 'node:path';
import { firstHeading } from './chunk.js';

/** A page turned into Markdown, ready to chunk. */
export interface Page {
  title: string;
  markdown: string;
  /** Links found on the page (web pages only: what the crawler follows). */
  links?: string[];
}

/** The file kinds twl reads, by extension; anything else in a folder is skipped. */
export const formatOf = (file: string): 'markdown' | 'mdx' | 'html' | 'text' | 'rst' | undefined => {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.md' || ext === '.markdown') return 'markdown';
  if (ext === '.mdx') return 'mdx';
  if (ext === '.html' || ext === '.htm') return 'html';
  if (ext === '.txt' || ext === '') return /^(readme|changelog|license|notice|authors)$/i.test(path.basename(file, ext)) || ext === '.txt' ? 'text' : undefined;
  if (ext === '.rst') return 'rst';
  return undefined;
};

/** Whether bytes are text: valid UTF-8 without NUL bytes (what binary files nearly always have). */
export function isText(bytes: Uint8Array): boolean {
  if (bytes.subarray(0, 8000).includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export async function toPage(kind: NonNullable<ReturnType<typeof formatOf>>, content: string, name: string, url?: string): Promise<Page> {
  const fallback = path.basename(name).replace(/\.[^.]+$/, '') || name;
  switch (kind) {
    case 'html':
      return htmlToPage(content, url ?? `file:///${name}`, fallback);
    case 'mdx':
      return markdownPage(mdxToMarkdown(content), fallback);
    case 'rst':
      return markdownPage(rstToMarkdown(content), fallback);
    case 'text':
      return { title: fallback, markdown: content };
    default:
      return markdownPage(content, fallback);
  }
}

const markdownPage = (markdown: string, fallback: string): Page => ({ title: firstHeading(markdown) ?? fallback, markdown: stripFrontMatter(markdown) });

/** YAML front matter (--- … ---) is metadata, not text to search. */
const stripFrontMatter = (markdown: string) => markdown.replace(/^---\n[\s\S]*?\n---\n/, '');

/** MDX: its import/export lines and JSX tags around the Markdown are not documentation (fenced code is kept as it is). */
export function mdxToMarkdown(mdx: string): string {
  let inFence = false;
  return mdx
    .split('\n')
    .filter((line) => {
      if (/^ {0,3}(```|~~~)/.test(line)) inFence = !inFence;
      if (inFence) return true;
      return !/^(import|export)\s/.test(line) && !/^\s*<\/?[A-Z][\w.]*[^>]*>\s*$/.test(line);
    })
    .join('\n');
}

/**
 * reStructuredText to Markdown, as far as chunking needs: section titles (underlined, optionally
 * overlined; levels in order of first appearance) become headings, and literal blocks (`::`,
 * `.. code-block:: lang`) become fenced code with their language.
 */
export function rstToMarkdown(rst: string): string {
  const lines = rst.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  const levels: string[] = [];
  const adornment = /^([=\-~^"'`#*+:._])\1{2,}\s*$/;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const next = lines[i + 1];
    // Overline + title + underline.
    if (adornment.test(line) && next?.trim() && lines[i + 2] !== undefined && adornment.test(lines[i + 2]!) && lines[i + 2]![0] === line[0]) {
      out.push(heading(`over${line[0]}`, next.trim()));
      i += 2;
      continue;
    }
    if (line.trim() && !adornment.test(line) && next !== undefined && adornment.test(next) && next.trim().length >= line.trim().length) {
      out.push(heading(next[0]!, line.trim()));
      i += 1;
      continue;
    }
    const directive = /^\.\.\s+(?:code-block|code|sourcecode)::\s*(\S*)/.exec(line);
    const literal = !directive && /::\s*$/.test(line);
    if (directive || literal) {
      if (literal) out.push(line.replace(/::\s*$/, line.trim() === '::' ? '' : ':'));
      let j = i + 1;
      while (j < lines.length && (/^\s+:\w+:/.test(lines[j]!) || !lines[j]!.trim())) j++; // directive options, blank lines
      const body: string[] = [];
      while (j < lines.length && (!lines[j]!.trim() || /^\s/.test(lines[j]!))) body.push(lines[j++]!);
      while (body.length && !body[body.length - 1]!.trim()) body.pop();
      if (body.length) {
        const indent = Math.min(...body.filter((b) => b.trim()).map((b) => /^\s*/.exec(b)![0].length));
        out.push('', `\`\`\`${directive?.[1] ?? ''}`, ...body.map((b) => b.slice(indent)), '```', '');
        i = j - 1;
      }
      continue;
    }
    out.push(line);
  }
  return out.join('\n');

  function heading(style: string, text: string): string {
    if (!levels.includes(style)) levels.push(style);
    return `${'#'.repeat(Math.min(levels.indexOf(style) + 1, 6))} ${text}`;
  }
}

/**
 * HTML to Markdown: the main content found by Mozilla Readability (navigation, scripts and styles
 * dropped) over a linkedom DOM, turned into Markdown by turndown with fenced code blocks that keep
 * their language. Links come from the whole page, before Readability trims it.
 */
/** The little of a DOM element used here (linkedom's; tsconfig has no DOM library). */
interface El {
  nodeName: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): El | null;
  remove(): void;
}

export async function htmlToPage(html: string, url: string, fallback: string): Promise<Page> {
  const [{ Readability }, { parseHTML }, { default: TurndownService }] = await Promise.all([import('@mozilla/readability'), import('linkedom'), import('turndown')]);
  const { document } = parseHTML(html);
  const links: string[] = [];
  for (const a of Array.from(document.querySelectorAll('a[href]'))) {
    try {
      links.push(new URL((a as unknown as El).getAttribute('href') ?? '', url).href);
    } catch {
      // A malformed href is not a link to follow.
    }
  }
  const heading = document.querySelector('h1')?.textContent?.trim();
  const title = document.title?.trim() || heading || fallback;
  let article: { content?: string | null } | null;
  try {
    article = new Readability(parseHTML(html).document as unknown as Document, { keepClasses: true, charThreshold: 50 }).parse();
  } catch {
    article = null; // not an article: the whole body below
  }
  for (const el of Array.from(document.querySelectorAll('script, style, noscript, template, iframe'))) (el as unknown as El).remove();
  const turndown = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-' });
  turndown.remove(['script', 'style', 'noscript', 'iframe']);
  // Code blocks keep their language from class="language-x" (or lang-x, highlight-x) on <pre> or <code>.
  turndown.addRule('fencedWithLanguage', {
    filter: (node) => (node as unknown as El).nodeName === 'PRE',
    replacement: (_content, node) => {
      const el = node as unknown as El;
      const code = el.querySelector('code') ?? el;
      const classes = `${el.getAttribute('class') ?? ''} ${code.getAttribute('class') ?? ''}`;
      const language = /(?:language|lang|highlight)-([\w+#-]+)/.exec(classes)?.[1] ?? '';
      const body = (code.textContent ?? '').replace(/\n$/, '');
      const fence = body.includes('```') ? '~~~' : '```';
      return `\n\n${fence}${language}\n${body}\n${fence}\n\n`;
    },
  });
  const source = article?.content ?? document.body?.innerHTML ?? '';
  const markdown = turndown.turndown(source);
  // Readability drops a page's <h1> into the title; keep it as the top heading so chunks carry it.
  const withTitle = heading && !markdown.trimStart().startsWith('# ') ? `# ${heading}\n\n${markdown}` : markdown;
  return { title, markdown: withTitle, links };
}
