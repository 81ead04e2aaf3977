import { describe, expect, it } from 'vitest';
import { isConnectionError } from '../../../src/store/postgres.js';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it.each([
    ['a refused connection', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['pg_ctl stop (-m fast or immediate)', pgError('57P01', 'terminating connection due to administrator command')],
    ['a crashed backend', pgError('57P02', 'terminating connection because of crash of another server process')],
    ['a server still starting or in recovery', pgError('57P03', 'the database system is starting up')],
    ['the connection exception class', pgError('08006', 'connection failure')],
    ['a broken pipe', pgError('EPIPE', 'write EPIPE')],
    ['a connection that died under a query', new Error('Connection terminated unexpectedly')],
    ['a client reused after its connection failed', new Error('Client has encountered a connection error and is not queryable')],
    ['a pool that could not connect in time', new Error('timeout exceeded when trying to connect')],
  ])('is true for %s', (_, err) => expect(isConnectionError(err)).toBe(true));

  it.each([
    ['a missing table', pgError('42P01', 'relation "nope" does not exist')],
    ['a cancelled statement', pgError('57014', 'canceling statement due to statement timeout')],
    ['a read-only transaction', pgError('25006', 'cannot execute INSERT in a read-only transaction')],
    ['a plain error', new Error('boom')],
  ])('is false for %s: the server answered', (_, err) => expect(isConnectionError(err)).toBe(false));
});
