import { describe, expect, it } from 'vitest';
import { chunkMarkdown, firstHeading } from '../../../src/docs/chunk.js';
import { formatOf, isText, mdxToMarkdown, rstToMarkdown } from '../../../src/docs/formats.js';
import { parseLibraryId } from '../../../src/docs/search.js';
import { agentOf } from '../../../src/ops/op.js';

describe('chunking Markdown', () => {
  it('follows headings and records the path, outermost first', () => {
    const chunks = chunkMarkdown('# A\n\nintro\n\n## B\n\nb text\n\n### C\n\nc text\n\n## D\n\nd text\n');
    expect(chunks.map((c) => c.headings)).toEqual([['A'], ['A', 'B'], ['A', 'B', 'C'], ['A', 'D']]);
    expect(chunks[1]!.content).toBe('## B\n\nb text');
  });

  it('never splits a code fence, however long, and keeps its language; headings inside fences stay code', () => {
    const code = Array.from({ length: 400 }, (_, i) => `line ${i} # not a heading`).join('\n');
    const md = `# Guide\n\n${'para one. '.repeat(50)}\n\n\`\`\`TypeScript\n${code}\n# still code\n\`\`\`\n\nafter\n`;
    const chunks = chunkMarkdown(md, { maxChars: 600 });
    const withCode = chunks.filter((c) => c.code);
    expect(withCode).toHaveLength(1);
    expect(withCode[0]!.code).toBe(`${code}\n# still code`);
    expect(withCode[0]!.languages).toEqual(['typescript']);
    expect(withCode[0]!.content).toContain('```TypeScript\n');
    expect(withCode[0]!.content.trimEnd().endsWith('```')).toBe(true);
    expect(chunks.every((c) => c.headings.join() === 'Guide')).toBe(true);
  });

  it('closes a fence only with the same character, at least as long; ~~~ fences and an unclosed fence are kept whole', () => {
    const chunks = chunkMarkdown('# T\n\n````md\n```js\ninner\n```\n````\n\n~~~py\nx = 1\n~~~\n\n```sh\nunclosed\n## h');
    expect(chunks.flatMap((c) => c.languages).sort()).toEqual(['md', 'py', 'sh']);
    expect(chunks[0]!.code).toContain('```js\ninner\n```');
    expect(chunks[0]!.code).toContain('unclosed\n## h');
  });

  it('splits a long section between paragraphs', () => {
    const md = `# Long\n\n${Array.from({ length: 20 }, (_, i) => `Paragraph ${i} ${'word '.repeat(40)}`).join('\n\n')}`;
    const chunks = chunkMarkdown(md, { maxChars: 800 });
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.every((c) => c.content.length < 1200)).toBe(true);
  });

  it('finds the page title outside code', () => {
    expect(firstHeading('```\n# no\n```\n\n# Yes\n')).toBe('Yes');
  });
});

describe('formats', () => {
  it('knows the documentation formats and tells binary from text', () => {
    expect(['a.md', 'b.mdx', 'c.html', 'd.rst', 'e.txt', 'README'].map(formatOf)).toEqual(['markdown', 'mdx', 'html', 'rst', 'text', 'text']);
    expect(formatOf('x.png')).toBeUndefined();
    expect(isText(Buffer.from('héllo'))).toBe(true);
    expect(isText(Buffer.from([0x68, 0x00, 0x69]))).toBe(false);
    expect(isText(Buffer.from([0xc3, 0x28]))).toBe(false);
  });

  it('turns reStructuredText titles into headings and literal blocks into fenced code', () => {
    const md = rstToMarkdown('=====\nTitle\n=====\n\nSection\n-------\n\nExample::\n\n    run()\n\n.. code-block:: python\n   :linenos:\n\n    print(1)\n');
    expect(md).toContain('# Title');
    expect(md).toContain('## Section');
    expect(md).toContain('Example:\n\n```\nrun()\n```');
    expect(md).toContain('```python\nprint(1)\n```');
  });

  it('drops MDX imports and JSX wrappers but not code', () => {
    expect(mdxToMarkdown('import X from "y"\n\n<Tabs>\ntext\n</Tabs>\n\n```js\nimport z from "z"\n```')).toBe('\ntext\n\n```js\nimport z from "z"\n```');
  });
});

describe('library ids and tool names', () => {
  it('parses ids with versions, scoped packages included', () => {
    expect(parseLibraryId('/npm/zod@4.1')).toEqual({ id: '/npm/zod', version: '4.1' });
    expect(parseLibraryId('/npm/@scope/pkg@1.0.0')).toEqual({ id: '/npm/@scope/pkg', version: '1.0.0' });
    expect(parseLibraryId('/npm/@scope/pkg')).toEqual({ id: '/npm/@scope/pkg' });
    expect(() => parseLibraryId('zod')).toThrow(/not a library id/);
  });

  it('gives Context7\'s hyphenated names the docs agent, and keeps the seed\'s rule for the rest', () => {
    expect(agentOf('resolve-library-id')).toBe('docs');
    expect(agentOf('query-docs')).toBe('docs');
    expect(agentOf('docs_search')).toBe('docs');
    expect(agentOf('sentiment-analyzer_analyze_sentiment')).toBe('sentiment-analyzer');
    expect(agentOf('standalone')).toBe('standalone');
  });
});
