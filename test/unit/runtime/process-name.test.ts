import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { processName } from '../../../src/runtime/process-name.js';
import { holderName } from '../../../src/store/retention.js';

describe('processName', () => {
  it('names this process by host and pid, the way leases, claims and workers show it', () => {
    expect(processName()).toBe(`${os.hostname()} pid ${process.pid}`);
    expect(processName(':')).toBe(`${os.hostname()}:${process.pid}`);
    const holder = holderName('twl worker');
    expect(holder.startsWith(`${os.hostname()} pid ${process.pid} (twl worker) #`)).toBe(true);
    expect(holder).toMatch(/ #[0-9a-z]{1,6}$/);
    expect(holderName('twl worker')).not.toBe(holder);
  });
});
