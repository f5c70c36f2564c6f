import type { ExecutorConfig } from '../config/schema.js';
import { jobSecret } from './executor.js';
import { connectRedis, describeConnection, loadRemoteModules, within } from './redis.js';

/** One line of `qicoord doctor`. */
export interface RedisCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** A field of an INFO section (`name:value` lines). */
function infoField(info: string, name: string): string | undefined {
  return info.split(/\r?\n/).find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
}

/**
 * What `qicoord doctor` checks for a configured bullmq executor: the job secret is set, Redis
 * answers (and its version), and its eviction policy is `noeviction` (BullMQ's requirement: an
 * evicted job key is a job lost without a trace).
 */
export async function checkRedis(executor: Extract<ExecutorConfig, { type: 'bullmq' }>): Promise<RedisCheck[]> {
  const where = describeConnection(executor.connection);
  const secret = jobSecret(executor.secretEnv);
  const checks: RedisCheck[] = [{ name: 'job secret', ok: secret.tag === 'success', detail: secret.tag === 'success' ? `${executor.secretEnv} is set` : secret.error.message }];
  const modules = await loadRemoteModules();
  if (modules.tag === 'failure') return [...checks, { name: 'redis', ok: false, detail: modules.error.message }];
  const redis = await connectRedis(modules.value, executor.connection);
  if (redis.tag === 'failure') return [...checks, { name: 'redis', ok: false, detail: redis.error.message }];
  try {
    const info = await within(Promise.all([redis.value.info('server'), redis.value.info('memory')]), 5000, 'INFO');
    if (info.tag === 'failure') return [...checks, { name: 'redis', ok: false, detail: `${where}: ${info.error.message}` }];
    const [server, memory] = info.value;
    const version = infoField(server, 'redis_version') ?? 'unknown';
    const major = Number(version.split('.')[0]);
    const policy = infoField(memory, 'maxmemory_policy') ?? 'unknown';
    return [
      ...checks,
      { name: 'redis', ok: major >= 5, detail: `${where}: Redis ${version}${major >= 5 ? '' : ' (BullMQ needs 5 or later; 6.2+ recommended)'}` },
      { name: 'redis maxmemory-policy', ok: policy === 'noeviction', detail: policy === 'noeviction' ? 'noeviction' : `${policy}: set 'maxmemory-policy noeviction' (BullMQ loses jobs to eviction otherwise)` },
    ];
  } finally {
    redis.value.disconnect();
  }
}
