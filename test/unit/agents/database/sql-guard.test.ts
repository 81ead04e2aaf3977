import { describe, expect, it } from 'vitest';
import { guardSql, verbOf } from '../../../../src/agents/database/sql-guard.js';

const refused = async (sql: string) => {
  try {
    await guardSql(sql);
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error(`accepted: ${sql}`);
};

describe('guardSql', () => {
  it.each([
    ['select 1', 'SELECT'],
    ['SELECT * FROM pg_class WHERE relname = $1;', 'SELECT'],
    ['values (1), (2)', 'VALUES'],
    ['explain select * from pg_class', 'EXPLAIN'],
    ['show server_version', 'SHOW'],
    ['with t as (select 1 as x) select * from t', 'SELECT'],
    ['select pg_sleep(1)', 'SELECT'],
    ["select 'drop table x; delete from y' as s", 'SELECT'],
    ['select $$ ; drop table x $$', 'SELECT'],
    ['/* delete from x; */ select 1 -- ; drop table y', 'SELECT'],
  ])('accepts %s', async (sql, kind) => {
    const verdict = await guardSql(sql);
    expect(verdict.kind).toBe(kind);
  });

  it('keeps the statement text without the trailing semicolon', async () => {
    expect((await guardSql('  select 1 ;  ')).statement).toBe('select 1');
  });

  it.each([
    ['delete from pg_class', /DELETE/],
    ['select 1; drop table x', /2 statements \(SELECT, DROP\)/],
    ['insert into t values (1)', /INSERT/],
    ['update t set a = 1', /UPDATE/],
    ['truncate t', /TRUNCATE/],
    ['create table t (a int)', /CREATE TABLE/],
    ['alter table t add column b int', /ALTER TABLE/],
    ['grant select on t to public', /GRANT/],
    ['set statement_timeout = 0', /SET/],
    ['begin', /transaction/],
    ['copy t to stdout', /COPY/],
    ["do $$ begin perform 1; end $$", /DO/],
    ['select * into t2 from t', /INTO/],
    ['select * from t for update', /FOR UPDATE/],
    ['with d as (delete from t returning *) select * from d', /DELETE/],
    ['explain analyze delete from t', /EXPLAIN of DELETE/],
    ["select query_to_xml_and_xmlschema('select pg_terminate_backend(1)', true, true, '')", /query_to_xml_and_xmlschema\(\), which evaluates SQL/],
    ["select * from ts_stat('select to_tsvector(1::text)')", /ts_stat/],
    ["select 1 where exists (select pg_catalog.query_to_xml('select 1', true, true, ''))", /query_to_xml/],
    ["select * from public.dblink('dbname=test', 'delete from t') as t(x int)", /dblink/],
    ["select * from lateral rows from (pg_catalog.ts_rewrite('a'::tsquery, 'select 1')) x", /ts_rewrite/],
    ["select table_to_xml('pg_class', true, true, '')", /table_to_xml/],
    ['vacuum', /VACUUM/],
    ['call p()', /CALL/],
    ['select 1;;select 2', /2 statements/],
  ])('refuses %s', async (sql, reason) => {
    const err = await refused(sql);
    expect(err.code).toBe('TWL_SQL_REFUSED');
    expect(err.message).toMatch(reason);
    expect(err.message).toMatch(/Nothing was sent/);
  });

  it('collects what the statement can call, for the catalog check', async () => {
    const { refs } = await guardSql(
      "select pg_terminate_backend(1), x OPERATOR(pg_catalog.+) 1, y between 1 and 2, '1'::regclass, '{}'::int[], t.f, (t).g, case z when 1 then 2 end from t tablesample bernoulli(1), lateral rows from (\"MyFn\"(1)) r",
    );
    expect(refs.functions).toEqual(expect.arrayContaining([{ schema: null, name: 'pg_terminate_backend' }, { schema: null, name: 'bernoulli' }, { schema: null, name: 'MyFn' }]));
    expect(refs.operators).toEqual(expect.arrayContaining([{ schema: 'pg_catalog', name: '+' }, { schema: null, name: '>=' }, { schema: null, name: '<=' }, { schema: null, name: '=' }]));
    expect(refs.types).toEqual(expect.arrayContaining([{ schema: null, name: 'regclass', array: false }, { schema: 'pg_catalog', name: 'int4', array: true }]));
    expect(refs.attributes).toEqual(expect.arrayContaining(['f', 'g']));
    expect(refs.relations).toEqual(expect.arrayContaining([{ schema: null, name: 't' }]));
  });

  it('collects types named outside a cast and every relation read, for the catalog check (views, policies)', async () => {
    const { refs } = await guardSql("with c as (select 1) select * from s.v join c on true, json_to_record('{}') as x(d s.dom, e s.dom2[]), (select * from other) o");
    expect(refs.types).toEqual(expect.arrayContaining([{ schema: 's', name: 'dom', array: false }, { schema: 's', name: 'dom2', array: true }]));
    expect(refs.relations).toEqual(expect.arrayContaining([{ schema: 's', name: 'v' }, { schema: null, name: 'c' }, { schema: null, name: 'other' }]));
  });

  it('walks a deeply nested expression without overflowing the stack', async () => {
    const depth = 800;
    const verdict = await guardSql(`select ${'abs('.repeat(depth)}1${')'.repeat(depth)}`);
    expect(verdict.refs.functions).toHaveLength(depth);
  });

  it('refuses a nesting deeper than the parser allows with a clear error', async () => {
    const err = await refused(`select ${'('.repeat(100_000)}1${')'.repeat(100_000)}`);
    expect(err.code).toBe('TWL_SQL_INVALID');
  });

  it('reports a syntax error with its position', async () => {
    const err = await refused('selec 1');
    expect(err.code).toBe('TWL_SQL_INVALID');
    expect(err.message).toMatch(/at character 1/);
  });

  it('reports empty SQL', async () => {
    expect((await refused(' ; ')).code).toBe('TWL_SQL_INVALID');
  });

  it('names statement types', () => {
    expect(verbOf('CreateFunctionStmt')).toBe('CREATE FUNCTION');
    expect(verbOf('DeleteStmt')).toBe('DELETE');
  });
});
