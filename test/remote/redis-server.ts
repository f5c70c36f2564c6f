import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A throwaway redis-server on a Unix socket in a temp dir, persistence off. */
export interface TestRedis {
  readonly socket: string;
  readonly dir: string;
  /** Stops the server; its folder is removed unless `keepDir` (to start it again there) or it was handed in. */
  stop(keepDir?: boolean): Promise<void>;
}

export const REDIS_SERVER = '/usr/bin/redis-server';

/** Starts redis-server; `dir` given: on the socket in that folder again (a restart), and that server removes the folder when stopped. */
export async function startRedis(dir?: string): Promise<TestRedis> {
  dir ??= mkdtempSync(path.join(os.tmpdir(), 'qicoord-redis-'));
  const socket = path.join(dir, 'r.sock');
  const child: ChildProcess = spawn(REDIS_SERVER, ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 25));
  if (!existsSync(socket)) {
    child.kill('SIGKILL');
    throw new Error('redis-server did not create its socket');
  }
  return {
    socket,
    dir: dir!,
    async stop(keepDir = false) {
      child.kill('SIGTERM');
      await exited;
      if (!keepDir) rmSync(dir!, { recursive: true, force: true });
    },
  };
}
