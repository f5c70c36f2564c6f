import type { QiError } from '@qi/base';
import { failure, success } from '@qi/base';
import { z } from 'zod';
import { qiError } from '../../errors/catalogue.js';
import { errnoCode } from '../fs-errors.js';
import { defineTool } from '../types.js';

/** Default and maximum time of one fetch, in ms. */
export const FETCH_DEFAULT_TIMEOUT_MS = 10_000;
export const FETCH_MAX_TIMEOUT_MS = 60_000;
/** Largest response body returned; the rest is not read (`truncated: true`). */
export const FETCH_MAX_BODY_BYTES = 8 * 1024 * 1024;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

function isHttpUrl(text: string): boolean {
  return URL.canParse(text) && /^https?:$/.test(new URL(text).protocol);
}

const fetchArgs = z
  .strictObject({
    url: z.string().refine(isHttpUrl, 'expected an absolute http:// or https:// URL'),
    method: z.enum(METHODS).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.string().optional(),
    timeoutMs: z.number().int().positive().max(FETCH_MAX_TIMEOUT_MS).optional(),
  })
  .refine((a) => a.body === undefined || !['GET', 'HEAD'].includes(a.method ?? 'GET'), {
    path: ['body'],
    message: 'a GET or HEAD request cannot have a body; set method to POST, PUT or PATCH',
  });

/** Reads at most `cap` bytes of a body stream, then cancels it. */
async function readCapped(body: ReadableStream<Uint8Array> | null, cap: number): Promise<{ text: string; truncated: boolean }> {
  if (body === null) return { text: '', truncated: false };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = cap - total;
    chunks.push(value.byteLength > room ? value.subarray(0, room) : value);
    total += Math.min(value.byteLength, room);
    if (value.byteLength > room) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  return { text: Buffer.concat(chunks, total).toString('utf8'), truncated };
}

function networkFailure(e: unknown, url: string): QiError {
  const cause = e instanceof Error ? e.cause : undefined;
  const code = errnoCode(cause) ?? errnoCode(e) ?? 'unknown';
  const detail = cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e);
  return qiError('FETCH_FAILED', `fetch ${url} failed: ${detail} (${code}); check the URL and that the server is reachable`, { url, errno: code });
}

/**
 * `fetch {url, method?, headers?, body?, timeoutMs?}` → `{status, headers, body, truncated}`.
 * Network policy checked first; redirects are returned as they are (never followed); the body is
 * read as UTF-8 up to 8 MiB. Timeout (default 10 s, max 60 s) → TIME_LIMIT.
 */
export const fetchTool = defineTool({
  name: 'fetch',
  operation: 'net',
  fileOperation: false,
  networkRequest: true,
  args: fetchArgs,
  async run(args, ctx) {
    const url = new URL(args.url);
    const allowed = ctx.checkHost(url);
    if (allowed.tag === 'failure') return allowed;
    const timeoutMs = args.timeoutMs ?? FETCH_DEFAULT_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    try {
      const init: RequestInit = { method: args.method ?? 'GET', redirect: 'manual', signal };
      if (args.headers !== undefined) init.headers = args.headers;
      if (args.body !== undefined) init.body = args.body;
      const response = await fetch(url, init);
      const { text, truncated } = await readCapped(response.body, FETCH_MAX_BODY_BYTES);
      return success({ status: response.status, headers: Object.fromEntries(response.headers), body: text, truncated });
    } catch (e) {
      if (ctx.signal.aborted) return failure(qiError('CANCELLED', `fetch ${url.href} was cancelled`, { url: url.href }));
      if (timeout.aborted) {
        return failure(
          qiError('TIME_LIMIT', `fetch ${url.href} took longer than ${timeoutMs} ms; raise timeoutMs (at most ${FETCH_MAX_TIMEOUT_MS})`, { url: url.href, timeoutMs }),
        );
      }
      return failure(networkFailure(e, url.href));
    }
  },
});
