/**
 * Statistics and metric-event helpers of the channel router.
 * @module
 */
import type { ChannelEvent, ChannelStats } from './types.js';

/** All-zero totals. */
export function emptyStats(): ChannelStats {
  return {
    direct: { messages: 0, bytes: 0 },
    topic: { messages: 0, bytes: 0, deliveries: 0 },
    queue: { pushed: 0, delivered: 0, acked: 0, redelivered: 0, bytes: 0 },
  };
}

/** Wraps the metrics listener so that a throwing listener cannot break messaging. */
export function safeListener(onEvent: ((e: ChannelEvent) => void) | undefined): (e: ChannelEvent) => void {
  return (event) => {
    try {
      onEvent?.(event);
    } catch {
      // Metrics must not break messaging.
    }
  };
}
