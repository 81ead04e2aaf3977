import { describe, expect, it } from 'vitest';
import { parseInput } from '../../../src/ops/invoke.js';
import browseOp from '../../../src/ops/browser/browse.js';
import reviewOp from '../../../src/ops/code/review.js';
import scanOp from '../../../src/ops/code/scan.js';
import docsAddOp from '../../../src/ops/docs/add.js';
import type { AnyOp } from '../../../src/ops/op.js';

// A NUL byte in a path is the caller's error (400 / exit 2), never a 500 from inside node:fs.
describe('paths in op inputs', () => {
  it.each<[string, AnyOp, Record<string, unknown>]>([
    ['code scan', scanOp, { path: '\0' }],
    ['code scan', scanOp, { path: 'src/\0/x.ts' }],
    ['code review', reviewOp, { code: 'x', filename: 'a\0.ts' }],
    ['browse', browseOp, { url: 'https://example.com', screenshot: '/tmp/a\0.png' }],
    ['docs add', docsAddOp, { source: './docs\0' }],
  ])('%s refuses a NUL byte', (_, op, input) => {
    expect(() => parseInput(op, input)).toThrow(expect.objectContaining({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/cannot contain a NUL byte/) }));
  });

  it('takes ordinary paths', () => {
    expect(parseInput(scanOp, { path: 'src/a b/ü.ts' })).toMatchObject({ path: 'src/a b/ü.ts' });
  });
});
