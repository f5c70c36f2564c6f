import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { Executor, type ExecutorConfig } from '../config/schema.js';
import { qiError } from '../errors/catalogue.js';
import type { AgentTransport } from '../subagent/transport.js';
import { bullmqTransport } from './transport.js';

/** The shared job secret from the variable `secretEnv` names; a missing or short one is a configuration error. */
export function jobSecret(secretEnv: string, env: NodeJS.ProcessEnv = process.env): Result<string, QiError> {
  const secret = env[secretEnv];
  if (secret === undefined || secret.length < 16) {
    return failure(
      qiError('INVALID_CONFIG', `executor 'bullmq' needs the shared job secret (at least 16 characters) in the environment variable ${secretEnv} (executor.secretEnv), the same on the coordinator and every worker`, {
        key: 'executor.secretEnv',
        secretEnv,
      }),
    );
  }
  return success(secret);
}

/** The transport an executor config asks for: undefined for the local default (the factory's own). */
export function transportForExecutor(executor: ExecutorConfig): Result<AgentTransport | undefined, QiError> {
  if (executor.type === 'local') return success(undefined);
  const secret = jobSecret(executor.secretEnv);
  if (secret.tag === 'failure') return secret;
  return success(bullmqTransport({ connection: executor.connection, queue: executor.queue, secret: secret.value, lockDurationMs: executor.lockDurationMs }));
}

/** An executor chosen on the command line (`--executor`, `--connection`), over the config's. */
export interface ExecutorOverride {
  readonly type?: 'local' | 'bullmq' | undefined;
  readonly connection?: string | undefined;
}

/**
 * The executor of a run: the config's, with the command line's choice over it. `--connection`
 * alone means bullmq; the config's bullmq settings (queue, secretEnv, lockDurationMs) are kept.
 */
export function resolveExecutor(configured: ExecutorConfig, override: ExecutorOverride | undefined): Result<ExecutorConfig, QiError> {
  if (override === undefined || (override.type === undefined && override.connection === undefined)) return success(configured);
  const type = override.type ?? 'bullmq';
  if (type === 'local') return success({ type: 'local' });
  const base = configured.type === 'bullmq' ? configured : undefined;
  const parsed = Executor.safeParse({
    type: 'bullmq',
    connection: override.connection ?? base?.connection,
    ...(base === undefined ? {} : { queue: base.queue, secretEnv: base.secretEnv, lockDurationMs: base.lockDurationMs }),
  });
  if (!parsed.success) {
    return failure(
      qiError('INVALID_CONFIG', `--executor bullmq needs a Redis connection: --connection redis://host:port/db or /path/redis.sock (or executor.connection in the config)`, {
        key: 'executor.connection',
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      }),
    );
  }
  return success(parsed.data);
}
