/**
 * The file tools run in the coordinator, as its user, on an agent's behalf. They check a path
 * (its real path inside the grants) and then use it; an agent that swaps a folder of its
 * workspace for a link to elsewhere between the two (an atomic rename; the link made once, e.g.
 * by a program it runs through `execute`) must still never get a file outside its grants read,
 * written or created. A real process does the swapping while the tools are called many times.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ToolBroker, builtinTools } from '../src/tools/broker.js';
import { tempProject } from './helpers.js';
import { toolPolicy } from './tool-policy.js';

const SECRET = 'SECRET-OUTSIDE-THE-GRANTS';
const SWAPPER = path.join(import.meta.dirname, 'fixtures/swap-folder.cjs');
const killers: (() => void)[] = [];
afterEach(() => {
  for (const kill of killers.splice(0)) kill();
});

/** A workspace whose `sub` is swapped, by a real process, between a real folder and a link to `outside`; both hold d/f.txt. */
async function swapping(): Promise<{ ws: string; outside: string; broker: ToolBroker }> {
  const base = realpathSync(tempProject('qicoord-tools-race-'));
  const ws = path.join(base, 'ws');
  const outside = path.join(base, 'outside');
  for (const d of [path.join(ws, 'real', 'd'), path.join(outside, 'd')]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(ws, 'real', 'd', 'f.txt'), 'inside');
  writeFileSync(path.join(outside, 'd', 'f.txt'), SECRET);
  writeFileSync(path.join(outside, 'd', 'outside-only.txt'), SECRET);
  symlinkSync(outside, path.join(ws, 'link'));
  const policy = toolPolicy(ws, { agentId: 'racer', allowedTools: ['read', 'write', 'list'], maxToolCalls: 1_000_000, maxFileOperations: 1_000_000, maxConcurrentOperations: 8 });
  const swapper = spawn(process.execPath, [SWAPPER, ws], { stdio: ['ignore', 'pipe', 'inherit'] });
  killers.push(() => swapper.kill('SIGKILL'));
  await new Promise<void>((resolve) => swapper.stdout.once('data', () => resolve()));
  return { ws, outside, broker: new ToolBroker(policy, builtinTools(), pino({ level: 'silent' })) };
}

describe('file tools against a folder swapped for a link mid-call', () => {
  it('read and list never return what lies outside the grants', async () => {
    const { broker } = await swapping();
    const leaks: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const [read, list] = await Promise.all([broker.call('read', { path: 'sub/d/f.txt' }), broker.call('list', { path: 'sub/d' })]);
      if (read.tag === 'success' && read.value === SECRET) leaks.push('read');
      if (read.tag === 'failure' && JSON.stringify(read.error).includes(SECRET)) leaks.push('read error');
      if (list.tag === 'success' && JSON.stringify(list.value).includes('outside-only')) leaks.push('list');
    }
    expect(leaks).toEqual([]);
  });

  it('write never writes or creates anything outside the grants', async () => {
    const { outside, broker } = await swapping();
    for (let i = 0; i < 2000; i++) {
      await Promise.all([
        broker.call('write', { path: 'sub/d/f.txt', content: `pwned ${i}` }),
        broker.call('write', { path: 'sub/d/f.txt', content: `pwned ${i}`, append: true }),
        broker.call('write', { path: `sub/new${i % 7}/x.txt`, content: 'x' }),
        broker.call('write', { path: `sub/d/new${i % 7}.txt`, content: 'x' }),
      ]);
    }
    expect(readFileSync(path.join(outside, 'd', 'f.txt'), 'utf8')).toBe(SECRET);
    for (let k = 0; k < 7; k++) {
      expect(existsSync(path.join(outside, `new${k}`))).toBe(false);
      expect(existsSync(path.join(outside, 'd', `new${k}.txt`))).toBe(false);
    }
  });
});
