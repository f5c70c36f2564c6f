/**
 * The disk watchdog's walk of an agent's workspace (usage-probes.ts diskUsage): what it counts,
 * where it stops, and that an agent swapping a folder for a link while it walks cannot make the
 * coordinator read outside the workspace (a real process doing the swapping).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { diskUsage } from '../../src/subagent/usage-probes.js';
import { tempProject } from '../helpers.js';

const killers: (() => void)[] = [];
afterEach(() => {
  for (const kill of killers.splice(0)) kill();
});

/** A workspace `ws` beside a folder `outside` of `files` empty files, with `ws/link` a link to it. */
function layout(files: number): { ws: string; outside: string } {
  const base = tempProject('qicoord-walk-');
  const outside = path.join(base, 'outside');
  mkdirSync(outside);
  for (let i = 0; i < files; i++) writeFileSync(path.join(outside, `f${i}`), '');
  const ws = path.join(base, 'ws');
  mkdirSync(path.join(ws, 'real'), { recursive: true });
  writeFileSync(path.join(ws, 'real', 'x'), 'x'.repeat(10_000));
  symlinkSync(outside, path.join(ws, 'link'));
  return { ws, outside };
}

describe('the workspace walk', () => {
  it('counts the blocks and entries of nested folders, never through a link', () => {
    const { ws } = layout(500);
    const usage = diskUsage(ws, 100_000);
    // real, link, real/x: the link's 500 files are not the workspace's.
    expect(usage.entries).toBe(3);
    expect(usage.bytes).toBeGreaterThanOrEqual(10_000);
  });

  it('stops after maxEntries entries (and says maxEntries + 1)', () => {
    const { outside } = layout(500);
    expect(diskUsage(outside, 100).entries).toBe(101);
    expect(diskUsage(outside, 1000).entries).toBe(500);
  });

  it('an agent swapping a folder for a link to outside while the walk runs never gets it read', async () => {
    const { ws } = layout(2000);
    // Files beside the swapped folder: the walk lstat-s them between finding the folder and opening it.
    for (let i = 0; i < 200; i++) writeFileSync(path.join(ws, `beside${i}`), '');
    const swapper = spawn(process.execPath, [path.join(import.meta.dirname, '../fixtures/swap-folder.cjs'), ws], { stdio: ['ignore', 'pipe', 'inherit'] });
    killers.push(() => swapper.kill('SIGKILL'));
    await new Promise<void>((resolve) => swapper.stdout.once('data', () => resolve()));
    // Before folders were opened without following links and checked to be the folder found, a
    // walk read the outside folder in about one walk in 40 under this swapping.
    let most = 0;
    for (let i = 0; i < 1000; i++) {
      most = Math.max(most, diskUsage(ws, 100_000).entries);
      await new Promise((r) => setImmediate(r));
    }
    // The workspace's own names (200 files, real, link and sub, each seen at most twice
    // mid-rename, and real/x): never the link's 2,000.
    expect(most).toBeLessThan(250);
  });
});
