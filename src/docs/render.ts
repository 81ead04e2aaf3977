/** Search hits for people: source and heading path, then the chunk's Markdown. */
export const renderHits = (hits: Array<{ libraryId: string; version: string; title: string; headings: string[]; content: string; source: string; score: number }>): string =>
  hits.map((h) => `── ${h.libraryId}@${h.version} · ${[h.title, ...h.headings.filter((x) => x !== h.title)].join(' › ')}  (${h.score})\n   ${h.source}\n\n${h.content}\n`).join('\n');
