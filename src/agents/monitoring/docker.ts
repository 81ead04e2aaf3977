import http from 'node:http';
import { TwlError, messageOf } from '../../runtime/errors.js';

/** A client of the Docker Engine API over its Unix socket (no CLI, no daemon assumptions). */
export class Docker {
  constructor(readonly socket: string) {}

  private request(path: string, timeoutMs = 10_000): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socket, path, method: 'GET', timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(new TwlError('TWL_DOCKER_UNAVAILABLE', `No Docker engine answers on ${this.socket}: ${messageOf(err)}`, { cause: err })),
      );
      req.end();
    });
  }

  private async json<T>(path: string): Promise<T> {
    const res = await this.request(path);
    if (res.status === 404) throw new TwlError('TWL_SERVICE_UNKNOWN', `Docker: ${JSON.parse(res.body.toString() || '{}').message ?? 'not found'}.`, { actions: ['List the containers with `twl monitoring containers --all`.'] });
    if (res.status >= 400) throw new TwlError('TWL_DOCKER_UNAVAILABLE', `Docker on ${this.socket} answered ${res.status}: ${res.body.toString().slice(0, 200)}`);
    return JSON.parse(res.body.toString()) as T;
  }

  containers(all: boolean) {
    return this.json<Array<{ Id: string; Names: string[]; Image: string; State: string; Status: string; Created: number; Ports: Array<{ PrivatePort: number; PublicPort?: number; Type: string }> }>>(`/containers/json?all=${all ? 1 : 0}`);
  }

  inspect(name: string) {
    return this.json<{ Id: string; Name: string; State: { Status: string; Running: boolean; Health?: { Status: string } }; Config: { Tty: boolean } }>(`/containers/${encodeURIComponent(name)}/json`);
  }

  /** Log lines, newest last; the multiplexed stream (8-byte frame headers) is split back into stdout and stderr. */
  async logs(name: string, options: { tail: number; since?: number }): Promise<Array<{ stream: 'stdout' | 'stderr'; line: string }>> {
    const info = await this.inspect(name);
    const query = `stdout=1&stderr=1&timestamps=1&tail=${options.tail}${options.since ? `&since=${options.since}` : ''}`;
    const res = await this.request(`/containers/${encodeURIComponent(name)}/logs?${query}`);
    if (res.status >= 400) throw new TwlError('TWL_DOCKER_UNAVAILABLE', `Docker could not read the logs of ${name}: ${res.status}`);
    const out: Array<{ stream: 'stdout' | 'stderr'; line: string }> = [];
    const push = (stream: 'stdout' | 'stderr', text: string) => {
      for (const line of text.split('\n')) if (line) out.push({ stream, line });
    };
    if (info.Config.Tty) push('stdout', res.body.toString('utf8'));
    else {
      let offset = 0;
      while (offset + 8 <= res.body.length) {
        const kind = res.body[offset];
        const size = res.body.readUInt32BE(offset + 4);
        push(kind === 2 ? 'stderr' : 'stdout', res.body.subarray(offset + 8, offset + 8 + size).toString('utf8'));
        offset += 8 + size;
      }
    }
    return out;
  }
}
