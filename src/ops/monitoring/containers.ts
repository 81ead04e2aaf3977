import { z } from 'zod';
import { Docker } from '../../agents/monitoring/docker.js';
import { defineOp, readOnly } from '../op.js';

export default defineOp({
  id: 'monitoring.containers',
  mcpName: 'monitoring_list_containers',
  title: 'List containers',
  description: 'Containers of the Docker engine (its API over docker.socket), running ones or all, with image, state and ports. A clear error names the socket when no engine answers.',
  input: z.object({ all: z.boolean().default(false).describe('Include stopped containers.') }),
  output: z.object({
    socket: z.string(),
    containers: z.array(z.object({ id: z.string(), name: z.string(), image: z.string(), state: z.string(), status: z.string(), createdAt: z.string(), ports: z.array(z.string()) })),
  }),
  annotations: { ...readOnly, openWorldHint: true },
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 20_000 },
  async run(ctx, { all }) {
    const docker = new Docker(ctx.config.docker.socket);
    const list = await docker.containers(all);
    return {
      socket: docker.socket,
      containers: list.map((c) => ({
        id: c.Id.slice(0, 12),
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        image: c.Image,
        state: c.State,
        status: c.Status,
        createdAt: new Date(c.Created * 1000).toISOString(),
        ports: c.Ports.map((p) => (p.PublicPort ? `${p.PublicPort}→${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`)),
      })),
    };
  },
});
