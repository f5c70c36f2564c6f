import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NetEvent } from '../sandbox/net-guard.js';
import type { NetGuardPolicy } from '../src/subagent/types.js';

const PROBE = fileURLToPath(new URL('./fixtures/net-guard/probe.mjs', import.meta.url));
const GUARD = fileURLToPath(new URL('../dist/sandbox/net-guard.js', import.meta.url));
const DENIED = 'ERR_QICOORD_NET_DENIED';
/** Long enough for a datagram or connection that did get out to be counted. */
const SETTLE_MS = 100;

interface ProbeResult {
  readonly ok: boolean;
  readonly code: string | null;
  readonly message: string | null;
  readonly events: readonly (NetEvent | { restore: string })[];
  readonly value?: unknown;
}

/** A local endpoint that counts what reaches it. */
interface Endpoint {
  readonly port: number;
  readonly path: string;
  count(): number;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForCount(endpoint: Endpoint, expected: number): Promise<number> {
  for (let i = 0; i < 100 && endpoint.count() < expected; i++) await sleep(20);
  await sleep(SETTLE_MS);
  return endpoint.count();
}

/** TCP (or Unix-socket) server; answers an HTTP request with 200 so http/fetch probes complete. */
async function streamServer(where: { port: number; host: string } | { path: string }): Promise<Endpoint> {
  let count = 0;
  const server = net.createServer((socket) => {
    count++;
    let head = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    });
  });
  await new Promise<void>((resolve) => server.listen(where, resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    path: 'path' in where ? where.path : '',
    count: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function udpServer(): Promise<Endpoint> {
  let count = 0;
  const socket = dgram.createSocket('udp4');
  socket.on('message', () => count++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    path: '',
    count: () => count,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function probe(policy: NetGuardPolicy, api: string, target: Endpoint, extra: readonly string[] = []): Promise<ProbeResult> {
  const args = [PROBE, JSON.stringify(policy), api, String(target.port), sockets.unix.path, ...extra];
  return new Promise((resolve, reject) => {
    // A minimal env: the parent's (NODE_EXTRA_CA_CERTS, NODE_OPTIONS…) would slow or alter the child.
    execFile(process.execPath, args, { env: { PATH: process.env['PATH'] ?? '' }, timeout: 20_000 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (error !== null || line === '') reject(new Error(`probe ${api} failed: ${error?.message ?? 'no output'}\n${stderr}`));
      else resolve(JSON.parse(line) as ProbeResult);
    });
  });
}

const deny: NetGuardPolicy = { mode: 'deny-all', hosts: [] };
const audit: NetGuardPolicy = { mode: 'audit', hosts: [] };
const off: NetGuardPolicy = { mode: 'off', hosts: [] };
const allow = (...hosts: string[]): NetGuardPolicy => ({ mode: 'allow-list', hosts });

let tmp = '';
const sockets = {} as { tcp: Endpoint; tcp2: Endpoint; udp: Endpoint; udp2: Endpoint; unix: Endpoint };
const endpointFor = (api: string): Endpoint => (api.startsWith('udp') ? sockets.udp : api === 'unix' ? sockets.unix : sockets.tcp);
const otherFor = (api: string): Endpoint => (api.startsWith('udp') ? sockets.udp2 : sockets.tcp2);
const totalCount = (): number => Object.values(sockets).reduce((sum, endpoint) => sum + endpoint.count(), 0);

beforeAll(() => {
  if (!existsSync(GUARD)) throw new Error(`${GUARD} is missing: build first (npm run build)`);
});

beforeEach(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'qicoord-net-guard-'));
  sockets.tcp = await streamServer({ port: 0, host: '127.0.0.1' });
  sockets.tcp2 = await streamServer({ port: 0, host: '127.0.0.1' });
  sockets.udp = await udpServer();
  sockets.udp2 = await udpServer();
  sockets.unix = await streamServer({ path: path.join(tmp, 'probe.sock') });
});

afterEach(async () => {
  await Promise.all(Object.values(sockets).map((endpoint) => endpoint.close()));
  rmSync(tmp, { recursive: true, force: true });
});

describe('net guard in a real child process: deny-all', () => {
  const apis = ['net', 'http', 'fetch', 'tls', 'unix', 'udp', 'udp-connect', 'udp-bind', 'listen', 'dns', 'dns-promises', 'resolver'];

  it.each(apis)('%s fails with ERR_QICOORD_NET_DENIED and nothing reaches any endpoint', async (api) => {
    const result = await probe(deny, api, endpointFor(api));
    await sleep(SETTLE_MS);
    expect(result).toMatchObject({ ok: false, code: DENIED });
    expect(result.message).toMatch(/denied \(.+; net guard policy deny-all\)$/);
    expect(result.events).toEqual([expect.objectContaining({ action: 'blocked' })]);
    expect(totalCount()).toBe(0);
  });

  it('names the api, host, port and policy in the error and the event', async () => {
    const { port } = sockets.tcp;
    const result = await probe(deny, 'net', sockets.tcp);
    expect(result.message).toBe(`network access to 127.0.0.1:${port} denied (net.connect; net guard policy deny-all)`);
    expect(result.events).toEqual([{ action: 'blocked', api: 'net.connect', host: '127.0.0.1', port }]);
  });

  it('http, fetch and tls are all stopped at net.Socket#connect', async () => {
    for (const api of ['http', 'fetch', 'tls']) {
      const result = await probe(deny, api, sockets.tcp);
      expect(result.events).toEqual([{ action: 'blocked', api: 'net.connect', host: '127.0.0.1', port: sockets.tcp.port }]);
    }
  });

  it('a unix-socket connect is reported with its path and no port', async () => {
    const result = await probe(deny, 'unix', sockets.unix);
    expect(result.events).toEqual([{ action: 'blocked', api: 'net.connect', host: sockets.unix.path, port: null }]);
  });

  it('a plugin cannot put the original connect back', async () => {
    const result = await probe(deny, 'restore', sockets.tcp);
    await sleep(SETTLE_MS);
    expect(result.events[0]).toEqual({ restore: 'TypeError,TypeError' });
    expect(result).toMatchObject({ ok: false, code: DENIED });
    expect(sockets.tcp.count()).toBe(0);
  });

  it('a throwing reporter does not disable the guard', async () => {
    const result = await probe(deny, 'net', sockets.tcp, ['--throwing-report']);
    await sleep(SETTLE_MS);
    expect(result).toMatchObject({ ok: false, code: DENIED });
    expect(sockets.tcp.count()).toBe(0);
  });
});

describe('net guard in a real child process: allow-list', () => {
  it.each(['net', 'http', 'fetch', 'tls', 'udp', 'udp-connect'])('%s reaches the listed 127.0.0.1:<port> and is denied another port', async (api) => {
    const listed = endpointFor(api);
    const other = otherFor(api);
    const policy = allow(`127.0.0.1:${listed.port}`);

    const allowed = await probe(policy, api, listed);
    expect(allowed).toMatchObject({ ok: true, code: null, events: [] });
    expect(await waitForCount(listed, 1)).toBe(1);

    const denied = await probe(policy, api, other);
    await sleep(SETTLE_MS);
    expect(denied).toMatchObject({ ok: false, code: DENIED });
    expect(denied.message).toContain(`127.0.0.1:${other.port} denied`);
    expect(denied.message).toContain(`allow-list [127.0.0.1:${listed.port}]`);
    expect(other.count()).toBe(0);
  });

  it.each(['unix', 'listen', 'udp-bind'])('%s is denied: a path or a listener is never on an allow-list', async (api) => {
    const target = endpointFor(api);
    const result = await probe(allow(`127.0.0.1:${sockets.tcp.port}`, `127.0.0.1:${sockets.udp.port}`, '127.0.0.1'), api, target);
    await sleep(SETTLE_MS);
    expect(result).toMatchObject({ ok: false, code: DENIED });
    expect(totalCount()).toBe(0);
  });

  it('a host entry without a port allows every port of that host', async () => {
    const result = await probe(allow('127.0.0.1'), 'net', sockets.tcp2);
    expect(result).toMatchObject({ ok: true, events: [] });
    expect(await waitForCount(sockets.tcp2, 1)).toBe(1);
  });

  it('resolving a listed hostname is allowed (compared case-insensitively); an unlisted one is denied', async () => {
    expect(await probe(allow('LOCALHOST:8080'), 'dns', sockets.tcp)).toMatchObject({ ok: true, events: [] });
    const denied = await probe(allow(`127.0.0.1:${sockets.tcp.port}`), 'dns', sockets.tcp);
    expect(denied).toMatchObject({ ok: false, code: DENIED, events: [{ action: 'blocked', api: 'dns.lookup', host: 'localhost', port: null }] });
  });
});

describe('net guard in a real child process: audit and off', () => {
  it.each(['net', 'http', 'fetch', 'tls', 'udp', 'unix'])('audit lets %s through and reports it', async (api) => {
    const target = endpointFor(api);
    const result = await probe(audit, api, target);
    expect(result).toMatchObject({ ok: true, code: null });
    const host = api === 'unix' ? target.path : '127.0.0.1';
    const port = api === 'unix' ? null : target.port;
    expect(result.events).toEqual([{ action: 'audited', api: api === 'udp' ? 'dgram.send' : 'net.connect', host, port }]);
    expect(await waitForCount(target, 1)).toBe(1);
  });

  it('util.promisify(dns.lookup) still resolves { address, family } (the custom promisify args are kept)', async () => {
    const result = await probe(audit, 'dns-promisify', sockets.tcp);
    expect(result).toMatchObject({ ok: true, events: [{ action: 'audited', api: 'dns.lookup', host: 'localhost', port: null }] });
    expect(result.value).toEqual({ address: expect.any(String), family: expect.any(Number) });
  });

  it('audit lets a listener open and reports it', async () => {
    const result = await probe(audit, 'listen', sockets.tcp);
    expect(result).toMatchObject({ ok: true, events: [{ action: 'audited', api: 'net.listen', host: '127.0.0.1', port: 0 }] });
  });

  it.each(['net', 'fetch', 'udp', 'listen'])('off patches nothing: %s works and nothing is reported', async (api) => {
    const target = endpointFor(api);
    const result = await probe(off, api, target);
    expect(result).toMatchObject({ ok: true, code: null, message: null, events: [] });
    if (api !== 'listen') expect(await waitForCount(target, 1)).toBe(1);
  });

  it('off leaves connect writable (the restore probe can reassign it)', async () => {
    const result = await probe(off, 'restore', sockets.tcp);
    expect(result.events).toEqual([{ restore: 'assigned,redefined' }]);
    expect(result.ok).toBe(true);
  });
});
