import type { AddressInfo, Server } from 'node:net';
import { TwlError } from '../runtime/errors.js';

/**
 * Binding a TCP listener the CLI opens (`twl serve --http`, `twl bridge`, `twl worker --metrics`):
 * a port in use, a privileged port, an address not of this machine or a host that does not resolve
 * is bad input, said as a TwlError (TWL_INPUT_INVALID, exit 2) naming the address, the cause and the
 * flags to change, never as Node's `listen EADDRINUSE` and its stack.
 */

export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port` as a URL authority (IPv6 in brackets). */
export const authority = ({ host, port }: ListenAddress): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** How the command's flags name an address: `where` for the message, `flags(address)` to suggest another. */
export interface ListenFlags {
  where: string;
  flags: (address: ListenAddress) => string;
}

/** For commands with --host and --port. */
export const hostPortFlags = (address: ListenAddress): ListenFlags => ({
  where: `${authority(address)} (--host ${address.host} --port ${address.port})`,
  flags: (a) => `--host ${a.host} --port ${a.port}`,
});

/** Why a listener could not bind, as a TwlError for the flags that asked for it. */
export function bindError(err: NodeJS.ErrnoException, address: ListenAddress, said: ListenFlags): TwlError {
  const { where } = said;
  const another = `Choose another port, or 0 for any free one (${said.flags({ ...address, port: 0 })}).`;
  const invalid = (message: string, actions: string[]) => new TwlError('TWL_INPUT_INVALID', message, { actions, cause: err });
  switch (err.code) {
    case 'EADDRINUSE':
      return invalid(`${where}: the port is in use by another process.`, [
        `See which process holds it: ss -ltnp 'sport = :${address.port}' (or lsof -iTCP:${address.port} -sTCP:LISTEN), and stop it if it is an earlier twl still running.`,
        another,
      ]);
    case 'EACCES':
      return invalid(`${where}: not allowed to listen there${address.port > 0 && address.port < 1024 ? ' (ports below 1024 need privileges)' : ''}.`, [
        `Choose a port from 1024 up (${said.flags({ ...address, port: 0 })} for any free one), or put a proxy on the privileged port in front of twl.`,
      ]);
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return invalid(`${where}: ${address.host} is not an address of this machine.`, [
        'Give one of its addresses (`ip -brief address` lists them), 127.0.0.1 (this machine only) or 0.0.0.0 (every IPv4 interface).',
      ]);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return invalid(`${where}: ${JSON.stringify(address.host.slice(0, 80))} is not an address, and does not resolve to one.`, [
        'Give an IP address of this machine: 127.0.0.1 (this machine only), 0.0.0.0 (every IPv4 interface) or [::1].',
      ]);
    default:
      return invalid(`${where}: could not listen (${err.code ?? err.message}).`, [another]);
  }
}

/** Listens on address, or rejects with bindError; resolves with the address bound (the port chosen for 0). */
export function listenOn(server: Server, address: ListenAddress, said: ListenFlags): Promise<AddressInfo> {
  return new Promise<AddressInfo>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => reject(bindError(err, address, said));
    server.once('error', failed);
    try {
      server.listen(address.port, address.host, () => {
        server.off('error', failed);
        resolve(server.address() as AddressInfo);
      });
    } catch (err) {
      // A host Node refuses before trying (not a string it can look up) throws here rather than emitting.
      failed(err as NodeJS.ErrnoException);
    }
  });
}
