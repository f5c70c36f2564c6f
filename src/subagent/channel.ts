import type { Duplex } from 'node:stream';
import type { QiError } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import { BRAND, PROTOCOL_VERSION } from '../protocol/constants.js';
import { MAX_MESSAGE_DEPTH, exceedsDepth } from '../protocol/depth.js';
import { FrameWriter } from '../protocol/frame-writer.js';
import { LineDecoder, parseLine } from '../protocol/framing.js';
import { inspectOversizedResult } from '../protocol/oversize.js';
import { isPlainResult } from '../protocol/result-shape.js';
import type { ChildMessage, ParentMessage, Unbranded } from '../protocol/messages.js';
import { ChildMessage as ChildMessageSchema } from '../protocol/messages.js';
import { toInputIssues } from '../schemas/issues.js';
import { safeStringify } from '../util/safe-json.js';

/** The start of every message to a child: its brand, before the message's own keys. */
const BRANDED_OPEN = `{${JSON.stringify(BRAND)}:${PROTOCOL_VERSION},`;

export interface ChannelLimits {
  readonly maxMessageBytes: number;
  readonly maxMessagesPerSecond: number;
}

export interface ChannelHandlers {
  onMessage(message: ChildMessage): void;
  /** The child broke the protocol; the channel has stopped reading. */
  onViolation(error: QiError): void;
}

/**
 * The coordinator's end of one SubAgent's channel. Every line from the child is untrusted: it
 * must fit `maxMessageBytes`, arrive within the rate cap, parse as JSON without prototype keys,
 * nest at most {@link MAX_MESSAGE_DEPTH} levels (checked without recursion, before anything
 * else reads it) and match the protocol schema; the first violation stops reading and is
 * reported once. So every value a child sends — results, errors and their context, sync values,
 * log data, message bodies — is bounded in size and depth before the coordinator stores,
 * relays or stringifies it. Messages to the child sent in one event-loop turn share writes
 * ({@link FrameWriter}); the child's are checked one by one however many a write carries.
 */
/** Child messages that answer the coordinator (one per execute, or per subtask asked back): not charged to the rate cap. */
const ANSWERS: ReadonlySet<unknown> = new Set(['result', 'error', 'unqueued']);

export class ParentChannel {
  private readonly decoder: LineDecoder;
  private tokens: number;
  private lastRefill = performance.now();
  private violated = false;
  private readonly writer: FrameWriter;

  constructor(
    private readonly socket: Duplex,
    private readonly agentId: string,
    private readonly limits: ChannelLimits,
    private readonly handlers: ChannelHandlers,
  ) {
    this.decoder = new LineDecoder(limits.maxMessageBytes);
    this.tokens = limits.maxMessagesPerSecond * 2;
    this.writer = new FrameWriter((text) => {
      if (!socket.destroyed && socket.writable) socket.write(text);
    }, setImmediate);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => undefined);
  }

  /** Sends a message (`later`: it may wait for the end of the turn, see FrameWriter.push); false when the channel is already closed. */
  send(message: Unbranded<ParentMessage>, later = false): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    // Never throws: a value that slipped past the bounds costs a marker, not the coordinator.
    // The brand is spliced in as text, ahead of the message's own keys (as `{ brand, ...message }`
    // would put it) without copying the message: this runs for every message to every agent.
    const text = safeStringify(message);
    this.writer.push(text.startsWith('{') ? `${BRANDED_OPEN}${text.slice(1)}\n` : `${safeStringify({ [BRAND]: PROTOCOL_VERSION, ...message })}\n`, later);
    return true;
  }

  /**
   * Runs `fn` right before any frame is actually written to the child (frames of one turn share
   * a write, and so one call); it replaces an earlier hook. `fn` must not throw.
   */
  beforeWrite(fn: (() => void) | undefined): void {
    this.writer.beforeWrite(fn);
  }

  close(): void {
    this.writer.flush();
    this.socket.destroy();
  }

  private takeToken(): boolean {
    const now = performance.now();
    const rate = this.limits.maxMessagesPerSecond;
    this.tokens = Math.min(rate * 2, this.tokens + ((now - this.lastRefill) / 1000) * rate);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Stops reading and reports the first violation; `fix` (a line of its own) replaces the catalogue's generic one. */
  private violation(message: string, context: Record<string, unknown>, fix?: string): void {
    if (this.violated) return;
    this.violated = true;
    this.socket.pause();
    this.socket.removeAllListeners('data');
    const text = `agent ${this.agentId} ${message}; it was stopped${fix === undefined ? '' : `\nfix: ${fix}`}`;
    this.handlers.onViolation(qiError('INVALID_MESSAGE', text, { agentId: this.agentId, ...context }));
  }

  private receive(chunk: Buffer): void {
    if (this.violated) return;
    const decoded = this.decoder.push(chunk);
    if (!decoded.ok) {
      this.oversized(decoded.bytes, decoded.prefix());
      return;
    }
    for (const line of decoded.lines) {
      if (this.violated) return;
      this.handleLine(line);
    }
  }

  /**
   * A message over the cap. A result's buffered prefix names its subtask and its largest output,
   * so the error says which value to shrink, or which setting to raise.
   */
  private oversized(bytes: number, prefix: Buffer): void {
    const cap = this.limits.maxMessageBytes;
    const result = inspectOversizedResult(prefix);
    if (result === undefined) {
      this.violation(`sent a message over ${cap} bytes (sandbox.maxMessageBytes)`, { bytes, configKey: 'sandbox.maxMessageBytes', maxMessageBytes: cap });
      return;
    }
    const output = result.output;
    const what =
      output === undefined
        ? ''
        : `; its output '${output.name}' alone is ${output.atLeast ? 'at least ' : ''}${output.bytes} bytes of JSON`;
    this.violation(
      `sent the result of subtask '${result.subtaskId}' over the ${cap}-byte message cap (sandbox.maxMessageBytes)${what}`,
      {
        bytes,
        subtaskId: result.subtaskId,
        ...(output === undefined ? {} : { output: output.name, outputBytes: output.bytes }),
        configKey: 'sandbox.maxMessageBytes',
        maxMessageBytes: cap,
      },
      `return smaller outputs (write large data to a file in the workspace), or raise sandbox.maxMessageBytes above ${cap}`,
    );
  }

  private handleLine(line: string): void {
    let raw: unknown;
    try {
      raw = parseLine(line);
    } catch {
      this.violation('sent a message that is not JSON', { sample: line.slice(0, 200) });
      return;
    }
    if (exceedsDepth(raw, MAX_MESSAGE_DEPTH)) {
      this.violation(`sent a message nested deeper than ${MAX_MESSAGE_DEPTH} levels of objects and arrays`, { maxDepth: MAX_MESSAGE_DEPTH, bytes: Buffer.byteLength(line, 'utf8') });
      return;
    }
    // A subtask's end answers an execute the coordinator sent (one each, checked against the
    // subtask the agent runs): it is not charged to the rate cap, which bounds what an agent sends
    // of its own accord, so an agent running many short subtasks is never taken for a flood.
    if (isPlainResult(raw)) {
      this.handlers.onMessage(raw);
      return;
    }
    const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
    if (!ANSWERS.has(type) && !this.takeToken()) {
      this.violation(`sent more than ${this.limits.maxMessagesPerSecond} messages per second (sandbox.maxMessagesPerSecond)`, {});
      return;
    }
    const parsed = ChildMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = toInputIssues(ChildMessageSchema, parsed.error.issues, 'message');
      this.violation(`sent a malformed message (${issues.map((i) => `${i.path}: ${i.message}`).join('; ').slice(0, 500)})`, { issues: issues.slice(0, 10) });
      return;
    }
    this.handlers.onMessage(parsed.data);
  }
}
