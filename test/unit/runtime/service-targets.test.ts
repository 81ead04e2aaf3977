import { describe, expect, it } from 'vitest';
import { targetProblem } from '../../../src/runtime/config.js';

describe('service targets per kind', () => {
  const good: Array<[string, string]> = [
    ['http', 'http://127.0.0.1:8080/health'],
    ['http', 'https://shop.example.com'],
    ['tcp', '127.0.0.1:5432'],
    ['tcp', 'db.internal:6379'],
    ['tcp', '[::1]:80'],
    ['process', 'nginx'],
    ['container', 'web-1'],
    ['container', '3f4e1a2b'],
    ['systemd', 'nginx.service'],
    ['systemd', 'getty@tty1.service'],
    ['postgres', 'postgres://ops@db:5432/app'],
    ['postgres', 'postgresql:///app?host=/var/run/postgresql'],
    ['redis', 'redis://127.0.0.1:6379'],
    ['redis', 'rediss://cache.example.com:6380'],
  ];
  const bad: Array<[string, string]> = [
    ['http', 'not a url'],
    ['http', 'ftp://files.example.com'],
    ['http', 'http://'],
    ['http', '127.0.0.1:8080'],
    ['tcp', 'db.internal'],
    ['tcp', 'db.internal:99999'],
    ['tcp', 'http://db:5432'],
    ['tcp', 'db internal:5432'],
    ['process', '/usr/sbin/nginx -g daemon'],
    ['process', 'two words'],
    ['container', '-rm'],
    ['container', 'web 1'],
    ['systemd', '--help'],
    ['systemd', '-H evil'],
    ['systemd', 'nginx service'],
    ['postgres', 'mysql://db/app'],
    ['postgres', 'db:5432'],
    ['redis', 'http://cache:6379'],
    ['redis', 'cache:6379'],
  ];
  it.each(good)('accepts a %s target %s', (kind, target) => expect(targetProblem(kind, target)).toBeNull());
  it.each(bad)('refuses a %s target %s', (kind, target) => expect(targetProblem(kind, target)).toMatch(new RegExp(`for an? ${kind} service`)));
});
