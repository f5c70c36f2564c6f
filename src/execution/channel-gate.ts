import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { CommunicationChannel } from '../distribution/types.js';
import { qiError } from '../errors/catalogue.js';

/**
 * The plan's declared channels as a check on every message a subtask sends. When the plan
 * declares any, a subtask may message (direct) only a subtask of its own lane or of a lane it
 * shares a declared channel with, and may publish or push to a queue only if its lane is in a
 * declared channel at all. A plan that declares none leaves messaging open (independent lanes
 * have nothing to say to each other, so no channel was planned, and none is checked).
 */
export class ChannelGate {
  /** `a|b` for each pair of lanes that share a channel (both orders). */
  private readonly pairs = new Set<string>();
  private readonly members = new Set<number>();
  private readonly open: boolean;

  /** @param laneIndex lane label (the plan's `agentId`) → lane index */
  constructor(channels: readonly CommunicationChannel[], laneIndex: ReadonlyMap<string, number>) {
    this.open = channels.length === 0;
    for (const c of channels) {
      const lanes = c.participants.map((p) => laneIndex.get(p)).filter((l): l is number => l !== undefined);
      for (const a of lanes) {
        this.members.add(a);
        for (const b of lanes) this.pairs.add(`${a}|${b}`);
      }
    }
  }

  /** May a subtask of lane `from` message one of lane `to` (undefined: an unknown target, left to the router)? */
  direct(fromSubtask: string, from: number, to: number | undefined, target: string): Result<void, QiError> {
    if (this.open || to === undefined || from === to || this.pairs.has(`${from}|${to}`)) return success(undefined);
    return failure(qiError('CHANNEL_DENIED', `subtask '${fromSubtask}' may not message '${target}': the plan declares no channel between their lanes`, { from: fromSubtask, to: target }));
  }

  /** May a subtask of lane `from` publish to a topic or push to a queue? */
  broadcast(fromSubtask: string, from: number, target: string): Result<void, QiError> {
    if (this.open || this.members.has(from)) return success(undefined);
    return failure(qiError('CHANNEL_DENIED', `subtask '${fromSubtask}' may not send to '${target}': its lane is in none of the plan's channels`, { from: fromSubtask, to: target }));
  }
}
