import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The repository root, and the built CLI the tests run as a user would. */
export const ROOT = path.join(import.meta.dirname, '..');
export const CLI = path.join(ROOT, 'dist/src/cli/main.js');

/** What one CLI run left: its exit code and its two streams. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `qicoord ARGS` in `cwd` with only PATH in its environment; never throws. */
export async function qicoord(args: string[], cwd = ROOT, maxBuffer = 32 * 1024 * 1024): Promise<Ran> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { cwd, maxBuffer, env: { PATH: process.env['PATH'] ?? '' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}
