import { z } from 'zod';
import { QiErrorShape } from '../protocol/messages.js';
import { PEER_ID } from './keys.js';

/**
 * What one message on a stream carries: `s` the session, `k` the kind, `d` the data. Agent messages
 * (`m`) travel as the protocol's own JSON lines and are checked by the receiving end's protocol
 * checks; control entries are parsed here. Every field comes from Redis, so all of it is
 * validated and bounded before use.
 */
export type UpKind = 'm' | 'started' | 'refused' | 'end' | 'usage';
export type DownKind = 'm' | 'stop';

/** A worker's answer that the agent is ready. */
export const Started = z.strictObject({
  worker: z.string().regex(PEER_ID),
  host: z.string().max(255),
  plugin: z.strictObject({
    name: z.string().min(1).max(200),
    type: z.enum(['basic', 'decision-capable', 'specialized']),
    capabilities: z.array(z.string().min(1).max(200)).max(1000),
    description: z.string().max(65_536).optional(),
  }),
  boundary: z.strictObject({
    workspace: z.string().max(4096),
    layers: z.array(z.string().max(200)).max(100),
    isolationLevel: z.enum(['monitored', 'restricted', 'sandbox']),
    downgradedFrom: z.enum(['monitored', 'restricted', 'sandbox']).optional(),
  }),
  baselineMB: z.number().nonnegative(),
});
export type Started = z.output<typeof Started>;

/** The worker refused the job or could not start the agent. */
export const Refused = z.strictObject({ error: QiErrorShape });

/** The agent's end on the worker (`lost`: the worker gave the agent up, e.g. while draining). */
export const Ended = z.strictObject({
  exitCode: z.int().nullable(),
  signal: z.string().max(50).nullable(),
  stderrTail: z.string().max(8192),
  oomKilled: z.boolean().optional(),
  lost: z.boolean().optional(),
});
export type Ended = z.output<typeof Ended>;

/** A usage sample of the agent's process on the worker (memory MB, CPU % of one core, workspace MB): finite, bounded numbers. */
const Figure = z.number().nonnegative().max(1e7);
export const UsageReport = z.strictObject({
  rssMB: Figure,
  cpuPercent: Figure,
  cpuWindowPercent: Figure.optional(),
  peakRssMB: Figure,
  diskMB: Figure.optional(),
});
export type UsageReport = z.output<typeof UsageReport>;

/** The coordinator stops the agent. */
export const Stop = z.strictObject({ reason: z.string().max(1000), graceMs: z.int().min(0).max(600_000), immediate: z.boolean() });
export type Stop = z.output<typeof Stop>;

/** One entry as read: its fields, if they are the three expected strings. */
export interface Entry {
  readonly session: string;
  readonly kind: string;
  readonly data: string;
}

/**
 * Reads the messages of one stream entry: its flat field list holds one `s`, `k`, `d` triple
 * per message (a writer packs every message of one event-loop turn for one reader into one
 * entry). Reading stops at the first triple that is not well-formed.
 */
export function readEntries(fields: readonly string[]): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i + 5 < fields.length; i += 6) {
    if (fields[i] !== 's' || fields[i + 2] !== 'k' || fields[i + 4] !== 'd') break;
    entries.push({ session: fields[i + 1]!, kind: fields[i + 3]!, data: fields[i + 5]! });
  }
  return entries;
}

/** Parses a control entry's JSON with its schema; undefined when it does not fit. */
export function parseControl<T>(schema: z.ZodType<T>, data: string): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
