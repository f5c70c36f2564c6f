/**
 * Public shapes of the channel router: deliveries, metric events, statistics and options.
 * @module
 */

/** A message handed to a live agent: a direct message or a topic message. */
export interface Delivery {
  /** `direct` for {@link ChannelRouter.send}, `topic` for {@link ChannelRouter.publish}. */
  readonly stream: 'direct' | 'topic';
  /** The topic, for `topic` deliveries only. */
  readonly topic?: string;
  /** The sender's id (an agent id, or whatever id the coordinator sent as). */
  readonly from: string;
  /** A private copy (JSON round-trip) of the body: no two agents share an object. */
  readonly body: unknown;
}

/**
 * One event per message, for metrics. `message`: a message was accepted (`to` is the target id
 * for `direct`, the topic for `topic`, the queue name for `queue`; `bytes` is its UTF-8 JSON
 * size). `redeliver`: a pulled, unacked queue message went back to the front of its queue because
 * the agent holding it (`from`) was unregistered.
 */
export type ChannelEvent =
  | {
      readonly type: 'message';
      readonly kind: 'direct' | 'topic' | 'queue';
      readonly from: string;
      readonly to: string;
      readonly bytes: number;
      readonly at: number;
    }
  | { readonly type: 'redeliver'; readonly queue: string; readonly messageId: string; readonly from: string; readonly at: number };

/** Running totals of the router's traffic. */
export interface ChannelStats {
  /** Direct messages accepted (delivered or buffered) and their JSON bytes. */
  direct: { messages: number; bytes: number };
  /** Publishes, their JSON bytes, and subscriber deliveries they caused. */
  topic: { messages: number; bytes: number; deliveries: number };
  /** Queue pushes, hand-outs to pullers (redeliveries included), acks, redeliveries, pushed bytes. */
  queue: { pushed: number; delivered: number; acked: number; redelivered: number; bytes: number };
}

/** Options of {@link ChannelRouter}. */
export interface ChannelRouterOptions {
  /** Largest accepted message: the UTF-8 length of the body's JSON text. */
  readonly maxMessageBytes: number;
  /** Most messages buffered for one not-yet-running subtask, and most waiting in one queue. Default 1000. */
  readonly maxBufferedPerTarget?: number;
  /** Called synchronously for every {@link ChannelEvent}; exceptions it throws are ignored. */
  readonly onEvent?: (e: ChannelEvent) => void;
  /** Clock for event timestamps (ms). Default `Date.now`. */
  readonly now?: () => number;
}

/** A message pulled from a queue: its id (ack it with this) and a private copy of its body. */
export interface QueueMessage {
  readonly id: string;
  readonly body: unknown;
}
