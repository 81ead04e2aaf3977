import { describe, expect, it } from 'vitest';
import { redactDeep, redactText, redactUrl } from '../../../src/runtime/redact.js';

const SECRET = 'S3cretPW';

/** Secret-bearing shapes, each with the part that must survive. */
const corpus: Array<[string, string]> = [
  [`redis://:${SECRET}@127.0.0.1:6379`, 'redis://:***@127.0.0.1:6379'],
  [`redis://default:${SECRET}@cache:6379/0`, 'redis://default:***@cache:6379/0'],
  [`rediss://u:${SECRET}@cache.example.com:6380`, 'rediss://u:***@cache.example.com:6380'],
  [`postgres://ops:${SECRET}@db:5432/app`, 'postgres://ops:***@db:5432/app'],
  [`postgres://ops:p%40${SECRET}@db/app`, 'postgres://ops:***@db/app'],
  [`postgres://ops:p@${SECRET}@db/app`, 'postgres://ops:***@db/app'], // an unencoded @ in the password
  [`mongodb+srv://u:${SECRET}@cluster0.example.net/x`, 'mongodb+srv://u:***@cluster0.example.net/x'],
  [`postgres://ops@db:5432/app?password=${SECRET}`, 'postgres://ops@db:5432/app?password=***'],
  [`postgres://ops@db/app?sslmode=require&PASSWORD=${SECRET}`, 'postgres://ops@db/app?sslmode=require&PASSWORD=***'],
  [`postgres://ops@db/app?Password=${SECRET}&x=1`, 'postgres://ops@db/app?Password=***&x=1'],
  [`postgres://ops@db/app?sslpassword=${SECRET}&sslmode=verify-full`, 'postgres://ops@db/app?sslpassword=***&sslmode=verify-full'],
  [`postgres://ops@db/app?sslmode=require&sslpassword=${SECRET}`, 'postgres://ops@db/app?sslmode=require&sslpassword=***'],
  [`https://api.example.com/v1?access_token=${SECRET}&page=2`, 'https://api.example.com/v1?access_token=***&page=2'],
  [`https://api.example.com/v1?api_key=${SECRET}`, 'https://api.example.com/v1?api_key=***'],
  [`https://api.example.com/v1?apikey=${SECRET}`, 'https://api.example.com/v1?apikey=***'],
  [`https://hooks.example.com/x#token=${SECRET}`, 'https://hooks.example.com/x#token=***'],
  [`https://b.s3.amazonaws.com/k?X-Amz-Security-Token=${SECRET}&X-Amz-Signature=${SECRET}`, 'https://b.s3.amazonaws.com/k?X-Amz-Security-Token=***&X-Amz-Signature=***'],
  [`https://acct.blob.core.windows.net/c?sv=2022&sig=${SECRET}`, 'https://acct.blob.core.windows.net/c?sv=2022&sig=***'],
  [`https://ghp_${SECRET}@github.com/org/repo.git`, 'https://***@github.com/org/repo.git'],
  [`host=db port=5432 user=ops password=${SECRET} dbname=app`, 'host=db port=5432 user=ops password=*** dbname=app'],
  [`host=db password='${SECRET} with space' user=ops`, 'host=db password=*** user=ops'],
  [`Server=db;User Id=sa;Password=${SECRET};Database=x`, 'Server=db;User Id=sa;Password=***;Database=x'],
  [`jdbc:postgresql://db/app?user=ops&password=${SECRET}`, 'jdbc:postgresql://db/app?user=ops&password=***'],
  [`PGPASSWORD=${SECRET} pg_dump`, 'PGPASSWORD=*** pg_dump'],
  [`client_secret=${SECRET}&grant_type=client_credentials`, 'client_secret=***&grant_type=client_credentials'],
  [`{"password":"${SECRET}","user":"ops"}`, '{"password":"***","user":"ops"}'],
  [`{"apiKey": "${SECRET}"}`, '{"apiKey": "***"}'],
  [`Authorization: Bearer ${SECRET}abcdef`, 'Authorization: Bearer ***'],
  [`connect to redis://:${SECRET}@cache:6379 failed: ECONNREFUSED`, 'connect to redis://:***@cache:6379 failed: ECONNREFUSED'],
];

describe('one redaction routine', () => {
  it.each(corpus)('hides the secret in %s', (input, expected) => {
    expect(redactText(input)).toBe(expected);
    expect(redactUrl(input)).toBe(expected);
    expect(redactText(input)).not.toContain(SECRET);
  });

  it('leaves what is not secret alone', () => {
    for (const text of ['postgres://postgres@127.0.0.1:5432/test', 'http://127.0.0.1:8080/health?verbose=1', 'http.auth: expected keys or none', 'https://user@github.com/x', 'the token bucket is full', 'maxTokens=5'])
      expect(redactText(text)).toBe(text);
  });

  it('hides secret keys and secrets in strings deeply, and keeps settings that only look alike', () => {
    const config = { redis: { url: `redis://:${SECRET}@h:6379` }, db: { url: `postgres://u@h/d?password=${SECRET}` }, http: { auth: 'keys', oauth: { clientSecret: SECRET } }, llm: { maxTokens: 10 }, apiKey: SECRET, list: [`x?token=${SECRET}`] };
    const out = redactDeep(config);
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(out).toMatchObject({ redis: { url: 'redis://:***@h:6379' }, db: { url: 'postgres://u@h/d?password=***' }, http: { auth: 'keys', oauth: { clientSecret: '[redacted]' } }, llm: { maxTokens: 10 }, apiKey: '[redacted]' });
    const err = redactDeep({ err: new Error(`redis://:${SECRET}@h failed`) });
    expect(JSON.stringify(err)).not.toContain(SECRET);
    expect(err.err).toMatchObject({ type: 'Error', message: 'redis://:***@h failed' });
  });
});
