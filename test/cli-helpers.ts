import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

/** Pids of live (not zombie) processes whose command line mentions `marker` (a project's workspace root). */
export function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (cmd.includes(marker) && !state.slice(state.lastIndexOf(')') + 2).startsWith('Z')) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}
