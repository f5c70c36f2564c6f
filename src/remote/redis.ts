import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Redis, RedisOptions } from 'ioredis';
import { qiError } from '../errors/catalogue.js';

/** BullMQ and ioredis, loaded on first use only: a local coordinator never loads them. */
export interface RemoteModules {
  readonly bullmq: typeof import('bullmq');
  readonly Redis: typeof import('ioredis').Redis;
}

/** Imports BullMQ and ioredis (once per process; `import()` caches the modules). */
export async function loadRemoteModules(): Promise<Result<RemoteModules, QiError>> {
  try {
    const [bullmq, ioredis] = await Promise.all([import('bullmq'), import('ioredis')]);
    return success({ bullmq, Redis: ioredis.Redis });
  } catch (e) {
    return failure(qiError('SANDBOX_UNAVAILABLE', `the bullmq executor needs the 'bullmq' package: ${e instanceof Error ? e.message : String(e)}`, {}));
  }
}

/** ioredis options for `executor.connection`: a redis:// or rediss:// URL, or a Unix socket path. */
export function redisOptions(connection: string): RedisOptions {
  // Commands fail fast while Redis is away instead of queueing without end: the liveness checks
  // turn a long outage into WORKER_LOST, and nothing waits forever.
  const common: RedisOptions = { connectTimeout: 3000, maxRetriesPerRequest: 2, retryStrategy: (n) => Math.min(n * 100, 1000), lazyConnect: false };
  if (connection.startsWith('/')) return { ...common, path: connection };
  const url = new URL(connection);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    ...common,
    host: url.hostname,
    port: url.port === '' ? 6379 : Number(url.port),
    db: Number.isInteger(db) ? db : 0,
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The connection as it may be shown (no password). */
export function describeConnection(connection: string): string {
  if (connection.startsWith('/')) return connection;
  try {
    const url = new URL(connection);
    url.password = '';
    return url.toString();
  } catch {
    return '(unparsable connection)';
  }
}

/** Resolves with `p`, or with a failure after `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<Result<T, Error>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Result<T, Error>>((resolve) => {
    timer = setTimeout(() => resolve(failure(new Error(`${what} took longer than ${ms} ms`))), ms);
  });
  try {
    return await Promise.race([p.then((v) => success(v) as Result<T, Error>, (e: unknown) => failure(e instanceof Error ? e : new Error(String(e)))), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens a connection and waits until Redis answers a PING; the connection is closed on failure. */
export async function connectRedis(modules: RemoteModules, connection: string, extra: RedisOptions = {}): Promise<Result<Redis, QiError>> {
  const redis = new modules.Redis({ ...redisOptions(connection), ...extra });
  redis.on('error', () => undefined);
  const pinged = await within(redis.ping(), 5000, 'PING');
  if (pinged.tag === 'failure') {
    redis.disconnect();
    return failure(unreachable(connection, pinged.error.message));
  }
  return success(redis);
}

/** The error of an unreachable Redis: SYSTEM, retryable, naming the connection and the fix. */
export function unreachable(connection: string, why: string): QiError {
  return qiError('WORKER_LOST', `Redis at ${describeConnection(connection)} is unreachable (${why}); check that redis-server runs there and that executor.connection is right`, {
    connection: describeConnection(connection),
  });
}
