import { chmodSync, mkdtempSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCoordinator, type MultiAgentCoordinator } from '../../src/index.js';
import { ok } from '../helpers.js';
import { startRedis, type TestRedis } from './redis-server.js';

/** The map-reduce plugin the remote tests' workers and coordinators load. */
export const MR_PLUGIN = path.join(import.meta.dirname, 'fixtures/mr.mjs');
/** The jobs' shared secret (QICOORD_JOB_SECRET) in the remote tests. */
export const SECRET = 'remote-test-secret-0123456789';

/**
 * What every live remote test starts with: the job secret in this process's environment (the
 * coordinator signs with it), a redis-server on a temp socket, and a temp root that agents (uid
 * 65534 when the tests run as root) can traverse.
 */
export async function remoteSetup(prefix: string): Promise<{ redis: TestRedis; root: string }> {
  process.env['QICOORD_JOB_SECRET'] = SECRET;
  const redis = await startRedis();
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
  chmodSync(root, 0o755);
  return { redis, root };
}

/** A coordinator on the bullmq executor (lockDurationMs 1000) with the map-reduce plugin, warm pool off. */
export async function remoteCoordinator(redis: TestRedis, root: string): Promise<MultiAgentCoordinator> {
  return ok(
    await createCoordinator({
      cwd: root,
      config: {
        plugins: [MR_PLUGIN],
        logging: { level: 'silent' },
        pool: { enabled: false },
        sandbox: { workspaceRoot: path.join(root, 'ws-coordinator') },
        executor: { type: 'bullmq', connection: redis.socket, lockDurationMs: 1000 },
      },
    }),
  );
}
