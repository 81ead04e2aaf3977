import { Config } from '@oclif/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { OpCommand } from '../../../src/cli/base.js';
import { defineOp, readOnly } from '../../../src/ops/op.js';
import { root, waitFor } from '../../helpers.js';

/**
 * Ctrl-C is a command's own from its start: one that comes while the input is still being read
 * (stdin for `-`, the store opened to find `last`) ends the command with TWL_INTERRUPTED (130)
 * and the op never starts. Node's default action would end the process at once, the store half-open.
 */
let ran = false;
let release!: () => void;
const held = new Promise<void>((r) => (release = r));
let reading = false;

const op = defineOp({
  id: 'test.held',
  mcpName: 'test_held',
  title: 'Held',
  description: 'An op whose command holds its input.',
  input: z.object({}),
  output: z.object({ ran: z.boolean() }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 60_000 },
  run: async () => ((ran = true), { ran }),
});

class Held extends OpCommand<typeof op> {
  static override op = op;
  protected async input() {
    reading = true;
    await held; // like a read of stdin that has not ended
    return {};
  }
  protected render(): void {}
}

afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

describe('Ctrl-C before the op starts', () => {
  it('ends the command with TWL_INTERRUPTED (130) at once, and the op never runs', async () => {
    const config = await Config.load({ root });
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const before = new Set(process.listeners('SIGINT'));
    const command = new Held(['--json'], config);
    const done = (command as unknown as { _run(): Promise<unknown> })._run(); // oclif's whole run: init, run, catch, finally
    await waitFor('the input being read', () => (reading ? true : undefined));
    const listener = process.listeners('SIGINT').find((l) => !before.has(l));
    expect(listener).toBeDefined(); // Ctrl-C is the command's while its input is read
    listener!('SIGINT');
    await done;
    clearTimeout((command as unknown as { forceExit?: NodeJS.Timeout }).forceExit);
    expect(process.exitCode).toBe(130);
    const printed = out.mock.calls.map((c) => String(c[0])).join('');
    expect(JSON.parse(printed)).toMatchObject({ status: 130, error: { code: 'TWL_INTERRUPTED' } });
    expect(process.listeners('SIGINT')).not.toContain(listener); // the command's handler goes with it
    release(); // the input that was being read ends after all: still nothing runs
    await new Promise((r) => setImmediate(r));
    expect(ran).toBe(false);
  });
});
