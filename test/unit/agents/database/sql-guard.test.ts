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
    ['select pg_terminate_backend(1)', /pg_terminate_backend/],
    ["select set_config('statement_timeout', '0', false)", /set_config/],
    ["select nextval('s')", /nextval/],
    ["select * from (select pg_catalog.pg_reload_conf()) x", /pg_reload_conf/],
    ['vacuum', /VACUUM/],
    ['call p()', /CALL/],
    ['select 1;;select 2', /2 statements/],
  ])('refuses %s', async (sql, reason) => {
    const err = await refused(sql);
    expect(err.code).toBe('TWL_SQL_REFUSED');
    expect(err.message).toMatch(reason);
    expect(err.message).toMatch(/Nothing was sent/);
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
