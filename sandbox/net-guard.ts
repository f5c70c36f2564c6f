/**
 * Network guard, installed inside a SubAgent child before any plugin code runs. It patches
 * `net.Socket#connect` (net, tls, http, https, http2 and built-in fetch/undici all end there),
 * `net.Server#listen`, `dgram.Socket#send/connect/bind`, and `lookup`, `lookupService`, `resolve*`
 * and `reverse` on `node:dns`, `node:dns/promises` and both `Resolver` prototypes.
 *
 * This is a seat belt and an audit record, NOT a security boundary. Known bypasses
 * (research/sandbox-enforcement.md §2(a)): `process.binding('tcp_wrap')` when the permission model
 * is off; even under it, an async_hooks init hook that captures the internal TCPCONNECTWRAP
 * constructor, used with an allowed socket's `_handle.constructor` (TCP), connects directly; worker
 * threads load fresh, unpatched modules. The boundary is the OS network namespace at level 'sandbox'.
 *
 * Patched properties are non-writable and non-configurable; prototypes are not frozen (that breaks
 * Node internals). A blocked call fails as the API fails: sockets emit 'error' on a later tick and
 * are destroyed, callbacks get the error on a later tick, promises reject. A connect's `host`,
 * `port` and `path` are read once and pinned; in allow-list mode a custom `lookup` option is
 * dropped, so the name that was checked is the name that is resolved.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import type { NetGuardPolicy } from '../src/protocol/messages.js';

export const NET_DENIED_CODE = 'ERR_QICOORD_NET_DENIED';

export interface NetEvent {
  readonly action: 'blocked' | 'audited';
  readonly api: string;
  readonly host: string;
  readonly port: number | null;
}

type Fn = (this: unknown, ...args: unknown[]) => unknown;
interface Entry { readonly host: string; readonly port: number | null }
interface Attempt extends Entry { readonly api: string; readonly kind: 'connect' | 'path' | 'listen' | 'dns' }
/** Returns null when the attempt may proceed, else the error to fail it with. */
type Gate = (attempt: Attempt) => Error | null;

const DNS_FUNCTION = /^(lookup|lookupService|resolve\w*|reverse)$/;
let installed = false;

/** Patches once per process ('off' patches nothing); call it before any plugin code is imported. */
export function installNetGuard(policy: NetGuardPolicy, report: (event: NetEvent) => void): void {
  if (policy.mode === 'off') return;
  if (installed) throw new Error('the network guard is already installed in this process');
  installed = true;
  const gate = createGate(policy, report);
  patchNetConnect(gate, policy.mode === 'allow-list');
  patchNetListen(gate);
  patchDgram(gate);
  patchDns(gate);
  syncBuiltinESMExports();
}

function createGate(policy: NetGuardPolicy, report: (event: NetEvent) => void): Gate {
  const entries = policy.hosts.map(parseEntry);
  return (attempt) => {
    if (policy.mode === 'allow-list' && permits(entries, attempt)) return null;
    const action = policy.mode === 'audit' ? 'audited' : 'blocked';
    succeeds(() => report({ action, api: attempt.api, host: attempt.host, port: attempt.port })); // a throwing reporter changes nothing
    return action === 'audited' ? null : deniedError(attempt, policy);
  };
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal. */
function parseEntry(entry: string): Entry {
  const text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const colon = text.indexOf(':');
  const single = colon !== -1 && colon === text.lastIndexOf(':');
  const [host, port] = bracketed ? [bracketed[1] ?? '', bracketed[2]] : single ? [text.slice(0, colon), text.slice(colon + 1)] : [text, undefined];
  return { host: normalizeHost(host), port: port === undefined ? null : (toPort(port) ?? -1) }; // a bad port matches nothing
}

/** Lower case, no brackets or trailing dot; IPv6 in its canonical form (`0:0::1` → `::1`). */
function normalizeHost(host: string): string {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return net.isIPv6(bare) && URL.canParse(`http://[${bare}]/`) ? new URL(`http://[${bare}]/`).hostname.slice(1, -1) : bare;
}

function permits(entries: readonly Entry[], attempt: Attempt): boolean {
  if (attempt.kind === 'listen' || attempt.kind === 'path') return false;
  const host = normalizeHost(attempt.host);
  return entries.some((e) => e.host === host && (e.port === null || attempt.kind === 'dns' || e.port === attempt.port));
}

function deniedError(attempt: Attempt, policy: NetGuardPolicy): Error {
  const host = attempt.host.includes(':') && attempt.port !== null ? `[${attempt.host}]` : attempt.host;
  const where = attempt.port === null ? host : `${host}:${attempt.port}`;
  const rule = policy.mode === 'allow-list' ? `allow-list [${policy.hosts.join(', ')}]` : policy.mode;
  const what = attempt.kind === 'listen' ? `listening on ${where}` : `network access to ${where}`;
  // In a network namespace (restricted/sandbox) allowed hosts are reached through the coordinator only.
  const hint = policy.mode === 'deny-all' && policy.hosts.length > 0 ? `; this agent has no network of its own: reach [${policy.hosts.join(', ')}] with ctx.tools.call('fetch', …)` : '';
  return Object.assign(new Error(`${what} denied (${attempt.api}; net guard policy ${rule}${hint})`), { code: NET_DENIED_CODE });
}

function toPort(value: unknown): number | null {
  if (value === undefined || value === null) return 0;
  const port = typeof value === 'number' || typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isInteger(port) && port >= 0 && port <= 65535 ? port : null;
}

function original(target: object, key: string): Fn {
  const value: unknown = Reflect.get(target, key);
  if (typeof value !== 'function') throw new Error(`net guard: ${key} is not a function`);
  return value as Fn;
}

/** The guard takes the original's symbol properties (util.promisify reads dns.lookup's) and name. */
function mirror(guarded: Fn, from: Fn): Fn {
  for (const key of [...Object.getOwnPropertySymbols(from), 'name']) {
    const descriptor = Object.getOwnPropertyDescriptor(from, key);
    if (descriptor !== undefined) Object.defineProperty(guarded, key, descriptor);
  }
  return guarded;
}

/** Enumerability is kept: Node's dns.setServers() rebinds exactly the enumerable Resolver methods. */
function lock(target: object, key: string, value: Fn): void {
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  const from: unknown = descriptor?.value;
  const guarded = typeof from === 'function' ? mirror(value, from as Fn) : value;
  Object.defineProperty(target, key, { value: guarded, writable: false, configurable: false, enumerable: descriptor?.enumerable ?? false });
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** Node's normalizeArgs: `(port, host?, cb?)`, `(options, cb?)`, `([options, cb])`, `(path, cb?)`. */
function normalizeArgs(args: readonly unknown[]): { options: Record<string, unknown>; callback: unknown } {
  const first = args[0];
  if (Array.isArray(first)) return { options: asRecord(first[0]), callback: first[1] };
  const last = args[args.length - 1];
  const callback = typeof last === 'function' ? last : undefined;
  if (typeof first === 'object' && first !== null) return { options: asRecord(first), callback };
  if (typeof first === 'string' && !(Number(first) >= 0)) return { options: { path: first }, callback };
  return { options: { port: first, host: typeof args[1] === 'string' ? args[1] : undefined }, callback };
}

/** Reads the destination once and returns options that inherit the rest but pin what was checked. */
function pinTarget(options: Record<string, unknown>, api: string, dropLookup: boolean) {
  const { path, host, port } = options;
  const own = (value: unknown): PropertyDescriptor => ({ value, writable: true, enumerable: true, configurable: true });
  const fields = { path: own(path), host: own(host), port: own(port), ...(dropLookup ? { lookup: own(undefined) } : {}) };
  const pinned = Object.create(options, fields) as Record<string, unknown>;
  const attempt: Attempt = path
    ? { api, kind: 'path', host: String(path), port: null }
    : { api, kind: 'connect', host: typeof host === 'string' && host !== '' ? host : 'localhost', port: toPort(port) };
  return { pinned, attempt };
}

function patchNetConnect(gate: Gate, pin: boolean): void {
  const connect = original(net.Socket.prototype, 'connect');
  lock(net.Socket.prototype, 'connect', function guardedConnect(this: unknown, ...args: unknown[]) {
    const { options, callback } = normalizeArgs(args);
    const { pinned, attempt } = pinTarget(options, 'net.connect', pin);
    const denied = gate(attempt);
    if (denied === null) return Reflect.apply(connect, this, typeof callback === 'function' ? [pinned, callback] : [pinned]);
    const socket = this as net.Socket;
    Object.assign(socket, { connecting: true }); // as a real connect: callers wait for 'connect' or 'error'
    process.nextTick(() => socket.destroy(denied));
    return socket;
  });
}

function listenAttempt(api: string, options: Record<string, unknown>, address: unknown): Attempt {
  const { path, port } = options;
  if (path) return { api, kind: 'listen', host: String(path), port: null };
  const handle = port === undefined && ['fd', 'handle', '_handle'].some((k) => options[k] !== undefined);
  const host = handle ? '<handle>' : typeof address === 'string' && address !== '' ? address : '*';
  return { api, kind: 'listen', host, port: handle ? null : toPort(port) };
}

/** Fails like the API: the callback, else an 'error' event, always on a later tick. */
function failLater(emitter: { emit(event: 'error', error: Error): unknown }, callback: unknown, error: Error): undefined {
  process.nextTick(() => (typeof callback === 'function' ? Reflect.apply(callback, undefined, [error]) : emitter.emit('error', error)));
  return undefined;
}

function patchNetListen(gate: Gate): void {
  const listen = original(net.Server.prototype, 'listen');
  lock(net.Server.prototype, 'listen', function guardedListen(this: unknown, ...args: unknown[]) {
    const { options } = normalizeArgs(args);
    const denied = gate(listenAttempt('net.listen', options, options['host']));
    if (denied === null) return Reflect.apply(listen, this, args);
    failLater(this as net.Server, undefined, denied);
    return this;
  });
}

function dgramHost(socket: dgram.Socket, address: unknown): string {
  if (typeof address === 'string' && address !== '') return address;
  return Reflect.get(socket, 'type') === 'udp6' ? '::1' : '127.0.0.1';
}

/** The destination of an unconnected send: `(msg, port, address?, cb?)` or `(msg, offset, length, port, address?, cb?)`. */
function sendAttempt(socket: dgram.Socket, args: readonly unknown[]): Attempt {
  const full = Boolean(args[4]) || (Boolean(args[3]) && typeof args[3] !== 'function');
  return { api: 'dgram.send', kind: 'connect', host: dgramHost(socket, full ? args[4] : args[2]), port: toPort(full ? args[3] : args[1]) };
}

function succeeds(call: () => unknown): boolean {
  try {
    call();
    return true;
  } catch {
    return false;
  }
}

function patchDgram(gate: Gate): void {
  const proto = dgram.Socket.prototype;
  const [send, connect, bind, address, peer] = ['send', 'connect', 'bind', 'address', 'remoteAddress'].map((k) => original(proto, k)) as [Fn, Fn, Fn, Fn, Fn];
  const queued = new WeakMap<object, string[]>(); // checked sends Node re-invokes once its implicit bind is done
  let bindingFor: unknown = null; // the socket whose allowed send/connect may bind an ephemeral port
  const run = (socket: unknown, fn: Fn, args: unknown[]): unknown => {
    bindingFor = socket;
    try {
      return Reflect.apply(fn, socket, args);
    } finally {
      bindingFor = null;
    }
  };
  lock(proto, 'send', function guardedSend(this: unknown, ...args: unknown[]) {
    if (succeeds(() => Reflect.apply(peer, this, []))) return run(this, send, args); // connected: connect checked the peer
    const socket = this as dgram.Socket;
    const attempt = sendAttempt(socket, args);
    const key = `${attempt.host} ${attempt.port}`;
    const bound = succeeds(() => Reflect.apply(address, socket, []));
    const pending = queued.get(socket) ?? [];
    if (bound && pending.includes(key)) {
      pending.splice(pending.indexOf(key), 1); // Node re-sends what it queued while binding: checked then
      return run(socket, send, args);
    }
    const denied = gate(attempt);
    if (denied !== null) return failLater(socket, args.findLast((a) => typeof a === 'function'), denied);
    const result = run(socket, send, args);
    if (!bound) queued.set(socket, [...pending, key]);
    return result;
  });
  lock(proto, 'connect', function guardedConnect(this: unknown, ...args: unknown[]) {
    const socket = this as dgram.Socket;
    const denied = gate({ api: 'dgram.connect', kind: 'connect', host: dgramHost(socket, args[1]), port: toPort(args[0]) });
    return denied === null ? run(socket, connect, args) : failLater(socket, typeof args[1] === 'function' ? args[1] : args[2], denied);
  });
  lock(proto, 'bind', function guardedBind(this: unknown, ...args: unknown[]) {
    const options = typeof args[0] === 'object' && args[0] !== null ? asRecord(args[0]) : null;
    const implicit = this === bindingFor && options !== null && options['port'] === 0 && options['address'] === undefined && options['fd'] === undefined;
    const denied = implicit ? null : gate(listenAttempt('dgram.bind', options ?? { port: args[0] }, options ? options['address'] : args[1]));
    if (denied === null) return Reflect.apply(bind, this, args);
    failLater(this as dgram.Socket, undefined, denied);
    return this;
  });
}

function dnsAttempt(api: string, args: readonly unknown[]): Attempt | null {
  const host = String(args[0]);
  if (api.endsWith('.lookup') && (host === '' || args[0] == null || net.isIP(host) !== 0)) return null; // no query is sent
  return { api, kind: 'dns', host, port: api.endsWith('.lookupService') ? toPort(args[1]) : null };
}

/** `method host` of the call a module-level function checked; the Resolver method it calls skips it. */
let dnsChecked: string | null = null;

function guardDns(api: string, target: () => Fn, gate: Gate, promises: boolean, outer: boolean): Fn {
  const method = api.slice(api.lastIndexOf('.') + 1);
  return function guardedDns(this: unknown, ...args: unknown[]) {
    const attempt = dnsAttempt(api, args);
    const token = attempt === null ? null : `${method} ${attempt.host}`;
    const repeat = !outer && token !== null && token === dnsChecked;
    dnsChecked = null;
    const denied = attempt === null || repeat ? null : gate(attempt);
    if (denied === null) {
      dnsChecked = outer ? token : null; // after dns.setServers() the inner function is a guarded Resolver method
      try {
        return Reflect.apply(target(), this, args);
      } finally {
        dnsChecked = null;
      }
    }
    if (promises) return Promise.reject(denied);
    const callback = args[args.length - 1];
    if (typeof callback !== 'function') throw denied;
    process.nextTick(() => Reflect.apply(callback, undefined, [denied]));
    return {};
  };
}

/**
 * Resolver prototypes get locked methods. Module-level functions get a locked accessor: Node's
 * dns.setServers() rebinds them, so the setter replaces the inner function, never the check.
 */
function patchDnsObject(target: object, prefix: string, gate: Gate, promises: boolean, outer: boolean): void {
  const keys = Object.getOwnPropertyNames(target).filter((k) => DNS_FUNCTION.test(k) && typeof Reflect.get(target, k) === 'function');
  for (const key of keys) {
    let inner = original(target, key);
    const guarded = guardDns(`${prefix}.${key}`, () => inner, gate, promises, outer);
    if (!outer) {
      lock(target, key, guarded);
      continue;
    }
    const set = (value: unknown): void => {
      if (typeof value === 'function') inner = value as Fn;
    };
    mirror(guarded, inner);
    Object.defineProperty(target, key, { get: () => guarded, set, enumerable: true, configurable: false });
  }
}

function patchDns(gate: Gate): void {
  patchDnsObject(dns.Resolver.prototype, 'dns.Resolver', gate, false, false);
  patchDnsObject(dns.promises.Resolver.prototype, 'dns.promises.Resolver', gate, true, false);
  patchDnsObject(dns, 'dns', gate, false, true);
  patchDnsObject(dns.promises, 'dns.promises', gate, true, true);
}
