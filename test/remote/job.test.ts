/** Job signing and checking, and the executor's resolution from config and flags: pure parts, no Redis. */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { canonicalJson, signJob, verifyJob, type JobPayload } from '../../src/remote/job.js';
import { jobSecret, resolveExecutor, transportForExecutor } from '../../src/remote/executor.js';
import { redisOptions, describeConnection } from '../../src/remote/redis.js';

const SECRET = 'a-shared-secret-of-some-length';
const payload: JobPayload = {
  v: 1,
  session: 's-1',
  coordinator: 'c-1',
  agentId: 'agent.sa1',
  plugin: { name: 'mr', sha256: 'a'.repeat(64) },
  spec: { agentType: 'basic', nested: { b: 1, a: [2, { d: 3, c: 4 }] } },
  timeoutMs: 1000,
  expiresAt: Date.now() + 60_000,
};

describe('jobs', () => {
  it('canonical JSON sorts keys at every level, so the signature does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    const reordered = JSON.parse(JSON.stringify({ ...payload, spec: { nested: { a: [2, { c: 4, d: 3 }], b: 1 }, agentType: 'basic' } })) as JobPayload;
    expect(signJob(reordered, SECRET).sig).toBe(signJob(payload, SECRET).sig);
  });

  it('a job signed with the secret is accepted as it was made', () => {
    const accepted = verifyJob(JSON.parse(JSON.stringify(signJob(payload, SECRET))), SECRET);
    expect(accepted).toEqual({ tag: 'success', value: payload });
  });

  it.each([
    ['unsigned', (j: Record<string, unknown>) => ({ ...j, sig: undefined }), /not signed/],
    ['signed with another secret', () => signJob(payload, 'another-secret-entirely'), /signature does not match/],
    ['altered after signing (another plugin)', (j: Record<string, unknown>) => ({ ...j, plugin: { name: 'other', sha256: 'a'.repeat(64) } }), /signature does not match/],
    ['altered after signing (wider limits)', (j: Record<string, unknown>) => ({ ...j, spec: { agentType: 'basic', nested: { b: 2 } } }), /signature does not match/],
    ['expired', () => signJob({ ...payload, expiresAt: Date.now() - 1 }, SECRET), /expired/],
    ['malformed', (j: Record<string, unknown>) => ({ ...j, session: '../../etc' }), /malformed/],
    ['not an object', () => 'job', /not signed/],
  ])('refuses a job that is %s (JOB_REJECTED)', (_name, change, message) => {
    const signed = signJob(payload, SECRET) as unknown as Record<string, unknown>;
    const refused = verifyJob(change(signed), SECRET);
    expect(refused.tag).toBe('failure');
    if (refused.tag === 'failure') {
      expect(refused.error).toMatchObject({ code: 'JOB_REJECTED', category: 'AUTHORIZATION' });
      expect(refused.error.message).toMatch(message);
    }
  });
});

describe('executor', () => {
  const bullmq = { type: 'bullmq' as const, connection: '/run/r.sock', queue: 'q1', secretEnv: 'MY_SECRET', lockDurationMs: 3000 };

  it('config: local by default; bullmq with its defaults filled in; a bad connection is INVALID_CONFIG naming the key', () => {
    const dir = { filepath: null, dir: '/tmp' };
    const local = resolveConfig({}, dir);
    expect(local.tag === 'success' && local.value.executor).toEqual({ type: 'local' });
    const remote = resolveConfig({ executor: { type: 'bullmq', connection: 'redis://h:6379/2' } }, dir);
    expect(remote.tag === 'success' && remote.value.executor).toEqual({ type: 'bullmq', connection: 'redis://h:6379/2', queue: 'qicoord', secretEnv: 'QICOORD_JOB_SECRET', lockDurationMs: 5000 });
    const bad = resolveConfig({ executor: { type: 'bullmq', connection: 'h:6379' } }, dir);
    expect(bad.tag).toBe('failure');
    if (bad.tag === 'failure') expect(JSON.stringify(bad.error.context)).toContain('executor.connection');
  });

  it('flags over config: --connection alone means bullmq and keeps the configured settings; --executor local wins', () => {
    expect(resolveExecutor({ type: 'local' }, undefined)).toEqual({ tag: 'success', value: { type: 'local' } });
    expect(resolveExecutor(bullmq, { type: 'local' })).toEqual({ tag: 'success', value: { type: 'local' } });
    expect(resolveExecutor(bullmq, { connection: 'redis://other:1/0' })).toEqual({ tag: 'success', value: { ...bullmq, connection: 'redis://other:1/0' } });
    expect(resolveExecutor({ type: 'local' }, { type: 'bullmq', connection: '/x.sock' })).toMatchObject({ tag: 'success', value: { type: 'bullmq', connection: '/x.sock', queue: 'qicoord' } });
    expect(resolveExecutor({ type: 'local' }, { type: 'bullmq' })).toMatchObject({ tag: 'failure', error: { code: 'INVALID_CONFIG', context: { key: 'executor.connection' } } });
  });

  it('the job secret comes from the variable secretEnv names; missing or short is INVALID_CONFIG naming it', () => {
    expect(jobSecret('MY_SECRET', { MY_SECRET: SECRET })).toEqual({ tag: 'success', value: SECRET });
    for (const env of [{}, { MY_SECRET: 'short' }]) {
      const r = jobSecret('MY_SECRET', env);
      expect(r).toMatchObject({ tag: 'failure', error: { code: 'INVALID_CONFIG' } });
      if (r.tag === 'failure') expect(r.error.message).toContain('MY_SECRET');
    }
    expect(transportForExecutor({ type: 'local' })).toEqual({ tag: 'success', value: undefined });
  });

  it('connections: a socket path, or a URL with db, user and password (never shown)', () => {
    expect(redisOptions('/run/r.sock')).toMatchObject({ path: '/run/r.sock' });
    expect(redisOptions('rediss://u:p%40ss@host:6380/3')).toMatchObject({ host: 'host', port: 6380, db: 3, username: 'u', password: 'p@ss', tls: {} });
    expect(describeConnection('redis://u:secret@host:6379/0')).not.toContain('secret');
  });
});
