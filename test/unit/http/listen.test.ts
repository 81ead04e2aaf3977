import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { bindError, hostPortFlags, listenOn } from '../../../src/http/listen.js';
import { isTwlError } from '../../../src/runtime/errors.js';

const failure = (code: string) => Object.assign(new Error(`listen ${code}`), { code }) as NodeJS.ErrnoException;

describe('bindError: why a listener could not bind, for the flags that asked', () => {
  it('says a privileged port needs privileges (EACCES cannot be provoked here: the tests may run as root)', () => {
    const err = bindError(failure('EACCES'), { host: '0.0.0.0', port: 80 }, hostPortFlags({ host: '0.0.0.0', port: 80 }));
    expect(isTwlError(err) && err.code === 'TWL_INPUT_INVALID' && err.exitCode === 2).toBe(true);
    expect(err.message).toBe('0.0.0.0:80 (--host 0.0.0.0 --port 80): not allowed to listen there (ports below 1024 need privileges).');
    expect(err.actions.join('\n')).toContain('--host 0.0.0.0 --port 0');
    // Above 1024 the port is not the reason: it is not said to be.
    expect(bindError(failure('EACCES'), { host: '127.0.0.1', port: 8080 }, hostPortFlags({ host: '127.0.0.1', port: 8080 })).message).not.toContain('below 1024');
  });

  it('names an IPv6 address in brackets, and keeps an unknown cause', () => {
    const err = bindError(failure('EINVAL'), { host: '::1', port: 9 }, hostPortFlags({ host: '::1', port: 9 }));
    expect(err.message).toBe('[::1]:9 (--host ::1 --port 9): could not listen (EINVAL).');
  });
});

describe('listenOn', () => {
  it('turns a port held by a real socket into the coded error, and binds once it is free', async () => {
    const holder = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    const { port } = holder.address() as net.AddressInfo;
    const server = net.createServer();
    const address = { host: '127.0.0.1', port };
    await expect(listenOn(server, address, hostPortFlags(address))).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringContaining('the port is in use by another process') });
    await new Promise((r) => holder.close(r));
    expect((await listenOn(server, address, hostPortFlags(address))).port).toBe(port);
    await new Promise((r) => server.close(r));
  });
});
