import { describe, expect, it } from 'vitest';
import { allowedVolatile, verdictOn } from '../../../../src/agents/database/function-check.js';

const fn = (schema: string, name: string, volatility: 'i' | 's' | 'v', language = 'internal') => ({ schema, name, volatility, language });

describe('verdictOn (what a resolved function may be)', () => {
  it.each([
    fn('pg_catalog', 'lower', 'i'),
    fn('pg_catalog', 'now', 's'),
    fn('pg_catalog', 'pg_sleep', 'v'),
    fn('pg_catalog', 'random', 'v'),
    fn('pg_catalog', 'pg_total_relation_size', 'v'),
    fn('pg_catalog', 'obj_description', 's', 'sql'),
    fn('public', 'st_distance', 'i', 'c'),
  ])('allows %o', (c) => expect(verdictOn(c)).toBeUndefined());

  it.each([
    [fn('pg_catalog', 'pg_terminate_backend', 'v'), /volatile/],
    [fn('pg_catalog', 'set_config', 'v'), /volatile/],
    [fn('pg_catalog', 'query_to_xml', 'v'), /evaluates SQL/],
    [fn('pg_catalog', 'table_to_xml', 's'), /evaluates SQL/],
    [fn('public', 'dblink_exec', 'v', 'c'), /evaluates SQL/],
    [fn('pg_catalog', 'txid_current', 's'), /transaction id/],
    [fn('pg_catalog', 'pg_current_xact_id', 's'), /transaction id/],
    // A volatile function outside pg_catalog is not the reviewed one, whatever its name.
    [fn('public', 'pg_sleep', 'v', 'plpgsql'), /volatile/],
    [fn('public', 'random', 'v', 'sql'), /volatile/],
    // A STABLE label on PL or SQL code is not a guarantee.
    [fn('public', 'helper', 's', 'plpgsql'), /user-defined plpgsql/],
    [fn('app', 'helper', 'i', 'sql'), /user-defined sql/],
  ])('refuses %o', (c, why) => expect(verdictOn(c)).toMatch(why));

  it('gives a reason for every volatile function it allows', () => {
    for (const [name, reason] of Object.entries(allowedVolatile)) expect(reason.length, name).toBeGreaterThan(10);
    expect(Object.keys(allowedVolatile)).not.toContain('set_config');
  });
});
