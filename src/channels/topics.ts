/**
 * Topic subscriptions (which agents listen to which topics) and publish fan-out.
 * @module
 */
import type { DeliverFn } from './direct.js';
import type { Encoded } from './payload.js';
import { decodeBody } from './payload.js';

/** Subscriptions, indexed both ways so an agent's exit drops all of its own quickly. */
export class TopicTable {
  private readonly byTopic = new Map<string, Set<string>>();
  private readonly byAgent = new Map<string, Set<string>>();

  /** Subscribes `agentId` to `topic` (idempotent). */
  add(agentId: string, topic: string): void {
    let agents = this.byTopic.get(topic);
    if (agents === undefined) this.byTopic.set(topic, (agents = new Set()));
    agents.add(agentId);
    let topics = this.byAgent.get(agentId);
    if (topics === undefined) this.byAgent.set(agentId, (topics = new Set()));
    topics.add(topic);
  }

  /** Unsubscribes `agentId` from `topic` (no-op when not subscribed). */
  remove(agentId: string, topic: string): void {
    const agents = this.byTopic.get(topic);
    agents?.delete(agentId);
    if (agents?.size === 0) this.byTopic.delete(topic);
    const topics = this.byAgent.get(agentId);
    topics?.delete(topic);
    if (topics?.size === 0) this.byAgent.delete(agentId);
  }

  /** Drops every subscription of `agentId`. */
  removeAgent(agentId: string): void {
    for (const topic of [...(this.byAgent.get(agentId) ?? [])]) this.remove(agentId, topic);
  }

  /** The subscribers of `topic`, in subscription order (a snapshot). */
  subscribers(topic: string): string[] {
    return [...(this.byTopic.get(topic) ?? [])];
  }

  /**
   * Delivers a private copy to every live subscriber of `topic` except `from`; returns how many
   * got it. A delivery function that throws (its agent is going away) is skipped.
   */
  fanOut(from: string, topic: string, encoded: Encoded, lookup: (agentId: string) => DeliverFn | undefined): number {
    let delivered = 0;
    for (const agentId of this.subscribers(topic)) {
      const deliver = agentId === from ? undefined : lookup(agentId);
      if (deliver === undefined) continue;
      try {
        deliver({ stream: 'topic', topic, from, body: decodeBody(encoded) });
        delivered += 1;
      } catch {
        // The others still get it.
      }
    }
    return delivered;
  }
}
