import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { success } from '@qi/base';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ToolBroker, builtinTools } from '../src/tools/broker.js';
import { hostAllowed } from '../src/tools/hosts.js';
import { defineTool, type ToolDefinition, type ToolPolicy } from '../src/tools/types.js';
import { err, issueLines, ok } from './helpers.js';
import { toolPolicy } from './tool-policy.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

let base = '';
let ws = '';
let outside = '';
const SECRET = 'TOP-SECRET-CONTENT';

// Test tools: a slow one that records concurrency, a counter, and one that throws.
let inFlight = 0;
let maxInFlight = 0;
let ticks = 0;
const started: number[] = [];
const slowTool = defineTool({
  name: 'slow',
  operation: 'test.slow',
  fileOperation: false,
  networkRequest: false,
  args: z.strictObject({ id: z.number(), ms: z.number() }),
  async run(args) {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    started.push(args.id);
    await sleep(args.ms);
    inFlight--;
    return success(args.id);
  },
});
const tickTool = defineTool({
  name: 'tick',
  operation: 'test.tick',
  fileOperation: false,
  networkRequest: false,
  args: z.strictObject({}),
  async run() {
    ticks++;
    return success(ticks);
  },
});
const boomTool = defineTool({
  name: 'boom',
  operation: 'test.boom',
  fileOperation: false,
  networkRequest: false,
  args: z.unknown(),
  run() {
    throw new Error('kaboom');
  },
});

function allTools(): Map<string, ToolDefinition> {
  const tools = builtinTools();
  for (const t of [slowTool, tickTool, boomTool]) tools.set(t.name, t);
  return tools;
}

function policy(overrides: Partial<ToolPolicy> = {}): ToolPolicy {
  return toolPolicy(ws, { allowedTools: ['read', 'write', 'list', 'fetch', 'execute', 'slow', 'tick', 'boom'], ...overrides });
}

const broker = (overrides: Partial<ToolPolicy> = {}): ToolBroker => new ToolBroker(policy(overrides), allTools(), logger);

// Two local HTTP servers: A is the listed one, B is never listed.
const hits = { a: new Map<string, number>(), b: 0 };
const countA = (p: string): number => hits.a.get(p) ?? 0;
let serverA: http.Server;
let serverB: http.Server;
let portA = 0;
let portB = 0;

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

beforeAll(async () => {
  base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-tools-')));
  serverA = http.createServer((req, res) => {
    const p = req.url ?? '/';
    hits.a.set(p, countA(p) + 1);
    if (p === '/redir') res.writeHead(302, { location: '/target' }).end();
    else if (p === '/big') res.end(Buffer.alloc(9 * MiB, 'x'));
    else if (p === '/hang') return;
    else res.writeHead(200, { 'x-test': 'yes' }).end(req.method === 'POST' ? 'posted' : 'hi');
  });
  serverB = http.createServer((_req, res) => {
    hits.b++;
    res.end('b');
  });
  portA = await listen(serverA);
  portB = await listen(serverB);
});

afterAll(() => {
  serverA.closeAllConnections();
  serverB.closeAllConnections();
  serverA.close();
  serverB.close();
  rmSync(base, { recursive: true, force: true });
});

beforeEach(() => {
  rmSync(path.join(base, 'ws'), { recursive: true, force: true });
  rmSync(path.join(base, 'outside'), { recursive: true, force: true });
  ws = path.join(base, 'ws');
  outside = path.join(base, 'outside');
  mkdirSync(ws);
  mkdirSync(outside);
  writeFileSync(path.join(ws, 'hello.txt'), 'hello world');
  writeFileSync(path.join(outside, 'secret.txt'), SECRET);
  inFlight = 0;
  maxInFlight = 0;
  ticks = 0;
  started.length = 0;
  hits.a.clear();
  hits.b = 0;
});

describe('read / list', () => {
  it('reads a file relative to the workspace, as utf8 or base64', async () => {
    const b = broker();
    expect(ok(await b.call('read', { path: 'hello.txt' }))).toBe('hello world');
    expect(ok(await b.call('read', { path: 'hello.txt', encoding: 'base64' }))).toBe(Buffer.from('hello world').toString('base64'));
  });

  it('denies a read outside the roots and returns none of the content', async () => {
    const e = err(await broker().call('read', { path: path.join(outside, 'secret.txt') }));
    expect(e.code).toBe('FS_DENIED');
    expect(JSON.stringify(e)).not.toContain(SECRET);
  });

  it('denies ../ traversal out of the workspace', async () => {
    const e = err(await broker().call('read', { path: '../outside/secret.txt' }));
    expect(e.code).toBe('FS_DENIED');
    expect(JSON.stringify(e)).not.toContain(SECRET);
  });

  it('compares roots with a trailing separator: /x/a does not contain /x/ab', async () => {
    mkdirSync(path.join(base, 'outside', 'a'));
    mkdirSync(path.join(base, 'outside', 'ab'));
    writeFileSync(path.join(outside, 'ab', 'f.txt'), SECRET);
    writeFileSync(path.join(outside, 'a', 'f.txt'), 'fine');
    const b = broker({ readRoots: [ws, path.join(outside, 'a')] });
    expect(ok(await b.call('read', { path: path.join(outside, 'a', 'f.txt') }))).toBe('fine');
    expect(err(await b.call('read', { path: path.join(outside, 'ab', 'f.txt') })).code).toBe('FS_DENIED');
  });

  it('a missing file inside the workspace is NOT_FOUND, not a denial', async () => {
    expect(err(await broker().call('read', { path: 'nope/missing.txt' })).code).toBe('NOT_FOUND');
  });

  it('refuses files over 16 MiB', async () => {
    truncateSync(path.join(ws, 'hello.txt'), 16 * MiB + 1);
    const e = err(await broker().call('read', { path: 'hello.txt' }));
    expect(e.code).toBe('FS_DENIED');
    expect(e.context['reason']).toBe('too-large');
  });

  it('lists entries sorted, directories suffixed with /', async () => {
    mkdirSync(path.join(ws, 'sub'));
    writeFileSync(path.join(ws, 'a.txt'), '');
    expect(ok(await broker().call('list', { path: '.' }))).toEqual(['a.txt', 'hello.txt', 'sub/']);
    expect(err(await broker().call('list', { path: outside })).code).toBe('FS_DENIED');
  });
});

describe('symlinks', () => {
  it('a symlink in the workspace to a file outside: read denied, write through it denied, target unchanged', async () => {
    symlinkSync(path.join(outside, 'secret.txt'), path.join(ws, 'link.txt'));
    const b = broker();
    const r = err(await b.call('read', { path: 'link.txt' }));
    expect(r.code).toBe('FS_DENIED');
    expect(JSON.stringify(r)).not.toContain(SECRET);
    expect(err(await b.call('write', { path: 'link.txt', content: 'pwned' })).code).toBe('FS_DENIED');
    expect(readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe(SECRET);
  });

  it('a symlinked dir leading outside: write below it denied, nothing created outside', async () => {
    symlinkSync(outside, path.join(ws, 'out'));
    expect(err(await broker().call('write', { path: 'out/new.txt', content: 'x' })).code).toBe('FS_DENIED');
    expect(existsSync(path.join(outside, 'new.txt'))).toBe(false);
    expect(err(await broker().call('list', { path: 'out' })).code).toBe('FS_DENIED');
    const r = err(await broker().call('read', { path: 'out/secret.txt' }));
    expect(r.code).toBe('FS_DENIED');
    expect(JSON.stringify(r)).not.toContain(SECRET);
  });

  it('a dangling symlink pointing outside is denied, and writing through it creates nothing', async () => {
    symlinkSync(path.join(outside, 'later.txt'), path.join(ws, 'dangling'));
    expect(err(await broker().call('write', { path: 'dangling', content: 'x' })).code).toBe('FS_DENIED');
    expect(existsSync(path.join(outside, 'later.txt'))).toBe(false);
  });

  it('a symlink to a file inside the workspace is followed for reads and writes', async () => {
    symlinkSync(path.join(ws, 'hello.txt'), path.join(ws, 'inner'));
    expect(ok(await broker().call('write', { path: 'inner', content: 'new' }))).toEqual({ bytes: 3 });
    expect(ok(await broker().call('read', { path: 'inner' }))).toBe('new');
  });
});

describe('write', () => {
  it('writes and appends inside the workspace, creating parent dirs', async () => {
    const b = broker();
    expect(ok(await b.call('write', { path: 'deep/dir/f.txt', content: 'héllo' }))).toEqual({ bytes: 6 });
    ok(await b.call('write', { path: 'deep/dir/f.txt', content: '!', append: true }));
    expect(readFileSync(path.join(ws, 'deep/dir/f.txt'), 'utf8')).toBe('héllo!');
  });

  it('denies a write outside the workspace; nothing is created', async () => {
    const target = path.join(outside, 'x.txt');
    expect(err(await broker().call('write', { path: target, content: 'x' })).code).toBe('FS_DENIED');
    expect(err(await broker().call('write', { path: '../outside/y/z.txt', content: 'x' })).code).toBe('FS_DENIED');
    expect(existsSync(target)).toBe(false);
    expect(existsSync(path.join(outside, 'y'))).toBe(false);
  });

  it("denies every write of a 'read-only' agent, inside the workspace too", async () => {
    const e = err(await broker({ fileSystemAccess: 'read-only' }).call('write', { path: 'new.txt', content: 'x' }));
    expect(e.code).toBe('FS_DENIED');
    expect(e.message).toContain('read-only');
    expect(existsSync(path.join(ws, 'new.txt'))).toBe(false);
  });

  it("'full' writes anywhere", async () => {
    ok(await broker({ fileSystemAccess: 'full' }).call('write', { path: path.join(outside, 'ok.txt'), content: 'x' }));
    expect(readFileSync(path.join(outside, 'ok.txt'), 'utf8')).toBe('x');
  });
});

describe('broker policy', () => {
  it('unknown tool → TOOL_DENIED listing the known tools', async () => {
    const e = err(await broker().call('raed', { path: 'x' }));
    expect(e.code).toBe('TOOL_DENIED');
    expect(e.message).toContain("did you mean 'read'");
    expect(e.message).toContain('execute');
  });

  it('a tool not in allowedTools → TOOL_DENIED, and it does not run', async () => {
    const e = err(await broker({ allowedTools: ['read'] }).call('write', { path: 'w.txt', content: 'x' }));
    expect(e.code).toBe('TOOL_DENIED');
    expect(e.message).toContain('allowedTools');
    expect(existsSync(path.join(ws, 'w.txt'))).toBe(false);
  });

  it('prohibitedOperations by tool name, by class and by class prefix', async () => {
    for (const entry of ['write', 'fs.write', 'fs']) {
      const e = err(await broker({ prohibitedOperations: [entry] }).call('write', { path: 'w.txt', content: 'x' }));
      expect(e.code).toBe('TOOL_DENIED');
      expect(e.context['prohibitedBy']).toBe(entry);
    }
    expect(existsSync(path.join(ws, 'w.txt'))).toBe(false);
    ok(await broker({ prohibitedOperations: ['fs.write'] }).call('read', { path: 'hello.txt' }));
  });

  it('invalid args → INVALID_TOOL_ARGS naming the path, not counted as a call', async () => {
    const b = broker();
    const e = err(await b.call('read', { path: 3 }));
    expect(e.code).toBe('INVALID_TOOL_ARGS');
    expect(issueLines(e)).toEqual(['args.path: expected a string, got number 3']);
    expect(issueLines(err(await b.call('write', { path: 'a', contnet: 'x' })))).toContain("args.contnet: unknown key (did you mean 'content'?)");
    expect(issueLines(err(await b.call('fetch', { url: 'file:///etc/passwd' })))[0]).toMatch(/^args\.url: /);
    expect(b.usage()).toEqual({ toolCalls: 0, fileOperations: 0, networkRequests: 0, deniedCalls: 3 });
  });

  it('tool-call budget: call N+1 is TOOL_BUDGET and does not run', async () => {
    const b = broker({ maxToolCalls: 2 });
    ok(await b.call('tick', {}));
    ok(await b.call('tick', {}));
    const e = err(await b.call('tick', {}));
    expect(e.code).toBe('TOOL_BUDGET');
    expect(e.message).toContain('used 2 of 2');
    expect(ticks).toBe(2);
  });

  it('file-op budget: the next file operation is FILE_OP_BUDGET and writes nothing', async () => {
    const b = broker({ maxFileOperations: 1 });
    ok(await b.call('write', { path: 'one.txt', content: '1' }));
    expect(err(await b.call('write', { path: 'two.txt', content: '2' })).code).toBe('FILE_OP_BUDGET');
    expect(existsSync(path.join(ws, 'two.txt'))).toBe(false);
    ok(await b.call('tick', {}));
  });

  it('maxConcurrentOperations 2: five slow calls never run more than two at once, in FIFO order', async () => {
    const b = broker({ maxConcurrentOperations: 2 });
    const t0 = Date.now();
    const results = await Promise.all([1, 2, 3, 4, 5].map((id) => b.call('slow', { id, ms: 80 })));
    expect(results.map(ok)).toEqual([1, 2, 3, 4, 5]);
    expect(maxInFlight).toBe(2);
    expect(started).toEqual([1, 2, 3, 4, 5]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3 * 80 - 10);
  });

  // Denials are logged at warn by the SubAgent, through its agent's log budget (test/log-cap-live.test.ts).
  it('logs every call at debug with tool name and args, and denials at debug', async () => {
    const records: Array<{ level: number; tool?: string; args?: unknown; code?: string }> = [];
    const sink = { write: (line: string): void => void records.push(JSON.parse(line)) };
    const b = new ToolBroker(policy({ allowedTools: ['read'] }), allTools(), pino({ level: 'debug' }, sink));
    ok(await b.call('read', { path: 'hello.txt' }));
    err(await b.call('write', { path: 'x', content: 'y' }));
    expect(records).toContainEqual(expect.objectContaining({ level: 20, tool: 'read', args: { path: 'hello.txt' } }));
    expect(records).toContainEqual(expect.objectContaining({ level: 20, tool: 'write', code: 'TOOL_DENIED' }));
  });

  it('a throwing tool becomes INTERNAL', async () => {
    const e = err(await broker().call('boom', {}));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toContain('kaboom');
  });

  it('an aborted signal fails the call promptly with CANCELLED; a call cancelled while queued spends no budget', async () => {
    const b = broker({ maxConcurrentOperations: 1 });
    const already = AbortSignal.abort();
    expect(err(await b.call('tick', {}, already)).code).toBe('CANCELLED');
    const running = new AbortController();
    const queued = new AbortController();
    const t0 = Date.now();
    const first = b.call('slow', { id: 1, ms: 10_000 }, running.signal);
    const second = b.call('slow', { id: 2, ms: 10 }, queued.signal);
    setTimeout(() => {
      running.abort();
      queued.abort();
    }, 30);
    expect(err(await first).code).toBe('CANCELLED');
    expect(err(await second).code).toBe('CANCELLED');
    // Cancelled long before the 10 s tool would have finished.
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(started).toEqual([1]);
    expect(b.usage().toolCalls).toBe(1);
    expect(ticks).toBe(0);
  });

  it('counts usage: calls, file operations, network requests, denials', async () => {
    const b = broker({ network: { level: 'full', allowedHosts: [] }, allowedTools: ['read', 'write', 'fetch', 'tick'] });
    ok(await b.call('read', { path: 'hello.txt' }));
    ok(await b.call('write', { path: 'n.txt', content: 'x' }));
    ok(await b.call('fetch', { url: `http://127.0.0.1:${portA}/hello` }));
    ok(await b.call('tick', {}));
    err(await b.call('list', { path: '.' }));
    err(await b.call('read', { path: path.join(outside, 'secret.txt') }));
    expect(b.usage()).toEqual({ toolCalls: 5, fileOperations: 3, networkRequests: 1, deniedCalls: 2 });
  });
});

describe('fetch', () => {
  const url = (port: number, p = '/hello'): string => `http://127.0.0.1:${port}${p}`;

  it("network 'none' → NET_DENIED and the server sees no request", async () => {
    expect(err(await broker().call('fetch', { url: url(portA) })).code).toBe('NET_DENIED');
    expect(countA('/hello')).toBe(0);
  });

  it("'restricted': a listed host:port works, an unlisted port is NET_DENIED with no request", async () => {
    const b = broker({ network: { level: 'restricted', allowedHosts: [`127.0.0.1:${portA}`] } });
    const r = ok(await b.call('fetch', { url: url(portA), method: 'POST', body: 'x' })) as { status: number; body: string; headers: Record<string, string> };
    expect(r).toMatchObject({ status: 200, body: 'posted', headers: { 'x-test': 'yes' } });
    const e = err(await b.call('fetch', { url: url(portB) }));
    expect(e.code).toBe('NET_DENIED');
    expect(hits.b).toBe(0);
  });

  it('returns a redirect as is, without following it', async () => {
    const b = broker({ network: { level: 'restricted', allowedHosts: [`127.0.0.1:${portA}`] } });
    const r = ok(await b.call('fetch', { url: url(portA, '/redir') })) as { status: number; headers: Record<string, string> };
    expect(r.status).toBe(302);
    expect(r.headers['location']).toBe('/target');
    expect(countA('/target')).toBe(0);
  });

  it('caps the body at 8 MiB and times out slow servers', async () => {
    const b = broker({ network: { level: 'full', allowedHosts: [] } });
    const r = ok(await b.call('fetch', { url: url(portA, '/big') })) as { body: string; truncated: boolean };
    expect(r.truncated).toBe(true);
    expect(r.body.length).toBe(8 * MiB);
    const t0 = Date.now();
    expect(err(await b.call('fetch', { url: url(portA, '/hang'), timeoutMs: 200 })).code).toBe('TIME_LIMIT');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('matches hosts case-insensitively, with and without ports', () => {
    expect(hostAllowed(['Example.COM'], new URL('http://example.com:8080/'))).toBe(true);
    expect(hostAllowed(['example.com:443'], new URL('http://example.com/'))).toBe(false);
    expect(hostAllowed(['example.com:443'], new URL('https://EXAMPLE.com/'))).toBe(true);
    expect(hostAllowed(['[::1]:80'], new URL('http://[::1]/'))).toBe(true);
    expect(hostAllowed(['example.com'], new URL('http://example.com.evil.test/'))).toBe(false);
  });
});

describe('execute', () => {
  type Exec = { exitCode: number | null; stdout: string; stderr: string; timedOut: boolean; truncated: { stdout: boolean; stderr: boolean } };
  const run = async (b: ToolBroker, args: unknown): Promise<Exec> => ok(await b.call('execute', args)) as Exec;

  it('runs in the workspace with only the policy env; a non-zero exit is a successful call', async () => {
    process.env['QICOORD_TEST_SECRET'] = 'leak';
    const r = await run(broker(), { command: '/bin/sh', args: ['-c', 'pwd; echo "[$QICOORD_TEST_SECRET]"; echo err >&2; exit 3'] });
    delete process.env['QICOORD_TEST_SECRET'];
    expect(r).toMatchObject({ exitCode: 3, stdout: `${ws}\n[]\n`, stderr: 'err\n', timedOut: false });
  });

  it('passes input on stdin and the command line through policy.execute.wrap', async () => {
    const wrap = (command: string, args: readonly string[]): { command: string; args: string[] } => ({ command: '/usr/bin/env', args: ['WRAPPED=yes', command, ...args] });
    const b = broker({ execute: { ...policy().execute, wrap } });
    const r = await run(b, { command: '/bin/sh', args: ['-c', 'echo "$WRAPPED"; cat'], input: 'from-stdin' });
    expect(r.stdout).toBe('yes\nfrom-stdin');
  });

  it('a timeout kills the whole process group quickly (timedOut true)', async () => {
    const t0 = Date.now();
    const r = await run(broker(), { command: '/bin/sh', args: ['-c', 'sleep 5 & echo $! > bg.pid; sleep 5'], timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(Date.now() - t0).toBeLessThan(4500); // not the 5 s of the sleep
    const bg = Number(readFileSync(path.join(ws, 'bg.pid'), 'utf8'));
    await sleep(50);
    const state = existsSync(`/proc/${bg}/stat`) ? readFileSync(`/proc/${bg}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
    expect(['gone', 'Z']).toContain(state);
  });

  it('a plain sleep 5 with timeoutMs returns timedOut quickly', async () => {
    const t0 = Date.now();
    expect((await run(broker(), { command: 'sleep', args: ['5'], timeoutMs: 200 })).timedOut).toBe(true);
    expect(Date.now() - t0).toBeLessThan(4500); // not the 5 s of the sleep
  });

  it('truncates output at 1 MiB per stream and says so', async () => {
    const r = await run(broker(), { command: '/bin/sh', args: ['-c', 'head -c 3000000 /dev/zero; echo small >&2'] });
    expect(r.truncated).toEqual({ stdout: true, stderr: false });
    expect(r.stdout.length).toBe(MiB);
  });

  it('a command that does not exist is NOT_FOUND', async () => {
    expect(err(await broker().call('execute', { command: 'qicoord-no-such-command' })).code).toBe('NOT_FOUND');
  });
});
