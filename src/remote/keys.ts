/**
 * Redis keys of the remote executor, all under `qicoord:<queue>:`. Every process (a coordinator's
 * transport, a worker) has one inbound stream and one heartbeat key; sessions are multiplexed on
 * them by session id, so a process reads one stream with one blocking XREAD whatever its number
 * of sessions. Every key carries a TTL, refreshed while its owner lives, and is deleted when it
 * closes: a process that dies leaves nothing that outlives `STREAM_TTL_MS`.
 */

/** A process id or session id as it appears in keys and job data. */
export const PEER_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Inbound streams outlive a silent owner by this much (their owner refreshes the TTL). */
export const STREAM_TTL_MS = 60_000;

export function inboxKey(queue: string, peer: string): string {
  return `qicoord:${queue}:${peer}:in`;
}

export function beatKey(queue: string, peer: string): string {
  return `qicoord:${queue}:${peer}:hb`;
}
