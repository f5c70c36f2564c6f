import type { ChildMessage, ParentMessage, Unbranded } from '../src/protocol/messages.js';
import type { ChildChannel } from './channel.js';
import type { WireError } from './errors.js';

/** An Error carrying the coordinator's QiError, thrown into plugin code when a call fails. */
export class CallError extends Error {
  readonly code: string;
  constructor(readonly qiError: WireError) {
    super(qiError.message);
    this.name = 'QicoordError';
    this.code = qiError.code;
  }
}

type Reply = Extract<ParentMessage, { callId: number }>;
type Request = Extract<Unbranded<ChildMessage>, { callId: number }>;
type Pending = { resolve: (value: unknown) => void; reject: (e: Error) => void };
/** What a request looks like before it is given its call id. */
export type RequestBody = Request extends infer R ? (R extends unknown ? Omit<R, 'callId'> : never) : never;

/** Request/response calls to the coordinator (tools, sync points, channels), matched by call id. */
export class Rpc {
  private next = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly channel: ChildChannel) {}

  call(body: RequestBody): Promise<unknown> {
    const callId = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(callId, { resolve, reject });
      this.channel.send({ ...body, callId } as Request);
    });
  }

  /** Settles the call a reply answers; a failure rejects with a {@link CallError}. */
  settle(reply: Reply): void {
    const pending = this.pending.get(reply.callId);
    if (pending === undefined) return;
    this.pending.delete(reply.callId);
    if (reply.result.tag === 'success') pending.resolve(reply.result.value);
    else pending.reject(new CallError(reply.result.error as WireError));
  }
}
