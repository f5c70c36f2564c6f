import { createHmac, timingSafeEqual } from 'node:crypto';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { z } from 'zod';
import { qiError } from '../errors/catalogue.js';
import { exceedsDepth, MAX_MESSAGE_DEPTH } from '../protocol/depth.js';
import { PEER_ID } from './keys.js';

/**
 * One job = one remote agent session. It carries data and a plugin name with the content hash
 * of the coordinator's plugin file, never code; the worker runs only plugins of its own config.
 * The HMAC-SHA256 over the canonical payload (shared secret) proves a holder of the secret made
 * it; it does not hide the payload, and within its expiry a job can be replayed by whoever can
 * write to Redis (it then runs the same plugin with the same specification, answering to the
 * same coordinator).
 */
export const JobPayload = z.strictObject({
  v: z.literal(1),
  session: z.string().regex(PEER_ID),
  coordinator: z.string().regex(PEER_ID),
  agentId: z.string().min(1).max(200),
  plugin: z.strictObject({ name: z.string().min(1).max(200), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  /** The SubAgentSpecification (validated by the worker with the coordinator's schema). */
  spec: z.record(z.string(), z.unknown()),
  timeoutMs: z.int().min(1).max(600_000),
  /** Epoch ms after which a worker refuses the job. */
  expiresAt: z.int().positive(),
});
export type JobPayload = z.output<typeof JobPayload>;

const SignedJob = JobPayload.extend({ sig: z.string().regex(/^[0-9a-f]{64}$/) });
export type SignedJob = z.output<typeof SignedJob>;

/** How long a job may wait for a worker before it is refused as stale. */
export const JOB_TTL_MS = 10 * 60_000;
/** Largest job payload a worker accepts, in bytes of JSON. */
const MAX_JOB_BYTES = 1024 * 1024;

/** JSON with object keys sorted at every level: the bytes the signature covers. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

function hmac(payload: JobPayload, secret: string): string {
  return createHmac('sha256', secret).update(canonicalJson(payload)).digest('hex');
}

export function signJob(payload: JobPayload, secret: string): SignedJob {
  return { ...payload, sig: hmac(payload, secret) };
}

/** Where a refusal can be sent: the session and coordinator a job names, if well-formed (even unverified). */
export function replyAddress(data: unknown): { session: string; coordinator: string } | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { session, coordinator } = data as Record<string, unknown>;
  return typeof session === 'string' && typeof coordinator === 'string' && PEER_ID.test(session) && PEER_ID.test(coordinator) ? { session, coordinator } : undefined;
}

/** A job as the worker accepts it: bounded, well-formed, signed with `secret`, not expired; else JOB_REJECTED. */
export function verifyJob(data: unknown, secret: string, now = Date.now()): Result<JobPayload, QiError> {
  const reject = (why: string): Result<JobPayload, QiError> => failure(qiError('JOB_REJECTED', `job refused: ${why}`, {}));
  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(data) ?? '', 'utf8');
  } catch {
    return reject('its data is not JSON');
  }
  if (bytes > MAX_JOB_BYTES || exceedsDepth(data, MAX_MESSAGE_DEPTH)) return reject(`its data is over ${MAX_JOB_BYTES} bytes or nested too deep`);
  if (typeof data !== 'object' || data === null || typeof (data as Record<string, unknown>)['sig'] !== 'string') return reject('it is not signed (no sig)');
  const parsed = SignedJob.safeParse(data);
  if (!parsed.success) return reject(`its data is malformed (${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
  const { sig, ...payload } = parsed.data;
  const expected = Buffer.from(hmac(payload, secret), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return reject('its signature does not match (another secret, or forged)');
  if (payload.expiresAt < now) return reject(`it expired at ${new Date(payload.expiresAt).toISOString()}`);
  return success(payload);
}
