import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { ToolPolicy } from './types.js';

interface HostEntry {
  readonly host: string;
  /** Undefined: any port. */
  readonly port: string | undefined;
}

function normalizeHost(host: string): string {
  const lower = host.trim().toLowerCase();
  const unbracketed = lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
  return unbracketed.endsWith('.') ? unbracketed.slice(0, -1) : unbracketed;
}

/** Parses an allowedHosts entry: `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address. */
export function parseHostEntry(entry: string): HostEntry {
  const text = entry.trim().toLowerCase();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6 !== null) return { host: normalizeHost(v6[1] ?? ''), port: v6[2] };
  const parts = text.split(':');
  if (parts.length === 2) return { host: normalizeHost(parts[0] ?? ''), port: parts[1] };
  return { host: normalizeHost(text), port: undefined };
}

/** The port a URL connects to, default ports included. */
function effectivePort(url: URL): string {
  if (url.port !== '') return url.port;
  return url.protocol === 'https:' ? '443' : '80';
}

/** True when an allowedHosts list lets a request to `url` through (case-insensitive; `host` = any port). */
export function hostAllowed(allowedHosts: readonly string[], url: URL): boolean {
  const host = normalizeHost(url.hostname);
  const port = effectivePort(url);
  return allowedHosts.map(parseHostEntry).some((e) => e.host === host && (e.port === undefined || e.port === port));
}

/**
 * Checks the network policy for a request: only http(s); level 'none' denies all, 'restricted'
 * allows the hosts listed in allowedHosts, 'full' allows any.
 */
export function checkHost(policy: ToolPolicy, url: URL): Result<void, QiError> {
  const { level, allowedHosts } = policy.network;
  const target = `${url.hostname}:${effectivePort(url)}`;
  const context = { agentId: policy.agentId, url: url.href, host: target, networkAccessLevel: level };
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return failure(qiError('NET_DENIED', `request to ${url.href} denied: only http: and https: URLs are allowed`, context));
  }
  if (level === 'full') return success(undefined);
  if (level === 'none') {
    return failure(
      qiError(
        'NET_DENIED',
        `request to ${target} denied: agent ${policy.agentId} has networkAccessLevel 'none'; set it to 'restricted' and list the host in allowedNetworkHosts, or to 'full'`,
        context,
      ),
    );
  }
  if (hostAllowed(allowedHosts, url)) return success(undefined);
  const listed = allowedHosts.length === 0 ? 'none' : allowedHosts.join(', ');
  return failure(
    qiError(
      'NET_DENIED',
      `request to ${target} denied: agent ${policy.agentId} may only reach its allowedNetworkHosts (${listed}); add '${target}' (or '${url.hostname}' for any port) to allowedNetworkHosts`,
      { ...context, allowedHosts },
    ),
  );
}
