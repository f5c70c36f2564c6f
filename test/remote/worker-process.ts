import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const CLI = path.join(import.meta.dirname, '../../dist/src/cli/main.js');

/** A real `qicoord worker` process (the built CLI), standing in for another machine. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote on stderr so far. */
  stderr(): string;
  /** Resolves once it says it takes jobs; rejects if it exits first. */
  readonly ready: Promise<void>;
}

export function startWorker(args: readonly string[], env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [CLI, 'worker', ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
      if (err.includes('qicoord worker w-')) resolve();
    });
    void exited.then(({ code }) => reject(new Error(`worker exited (${code}) before it was ready: ${err}`)));
  });
  ready.catch(() => undefined);
  return { child, exited, ready, stderr: () => err };
}

/** Runs `qicoord ARGS` with PATH and `env` only; never throws. */
export function qicoordEnv(args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}
