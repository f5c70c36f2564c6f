/**
 * Who takes part in a point, and what its condition is still waiting for.
 * @module
 */
import type { SynchronizationPoint } from '../schemas/strategy.js';

/** The point's entries with `'*'` expanded to every subtask, first occurrence kept, in listed order. */
export function expandEntries(point: SynchronizationPoint, allSubtasks: readonly string[]): string[] {
  const out: string[] = [];
  for (const entry of point.participatingAgents) {
    for (const id of entry === '*' ? allSubtasks : [entry]) if (!out.includes(id)) out.push(id);
  }
  return out;
}

/** The index of the first entry an arrival matches (its subtask id or agent id), or -1. */
export function entryIndex(entries: readonly string[], subtaskId: string, agentId: string): number {
  return entries.findIndex((e) => e === subtaskId || e === agentId);
}

type KeyState = 'waiting' | 'satisfied' | 'departed';

/**
 * The ids a point's condition waits for: its entries, or `parameters.agents` for a
 * `specific-agents` condition. Each is waiting, satisfied (a matching arrival happened) or
 * departed (it can no longer arrive, so the condition stops waiting for it).
 */
export class WaitSet {
  private readonly keys = new Map<string, KeyState>();

  /** @param keys the ids the condition waits for. */
  constructor(keys: readonly string[]) {
    for (const key of keys) this.keys.set(key, 'waiting');
  }

  /** Builds the wait set of `point` given its expanded entries. */
  static of(point: SynchronizationPoint, entries: readonly string[]): WaitSet {
    const agents = point.condition.parameters['agents'];
    if (point.condition.type !== 'specific-agents' || !Array.isArray(agents)) return new WaitSet(entries);
    return new WaitSet(agents.filter((a): a is string => typeof a === 'string'));
  }

  /** Marks every key equal to the arrival's subtask id or agent id as satisfied. */
  satisfy(subtaskId: string, agentId: string): void {
    for (const id of [subtaskId, agentId]) if (this.keys.has(id)) this.keys.set(id, 'satisfied');
  }

  /** Marks a still-waiting key as departed; true when that changed anything. */
  depart(id: string): boolean {
    if (this.keys.get(id) !== 'waiting') return false;
    this.keys.set(id, 'departed');
    return true;
  }

  /** How many keys are satisfied. */
  get arrived(): number {
    return this.count('satisfied');
  }

  /** How many keys the condition still counts (departed ones excluded). */
  get expected(): number {
    return this.keys.size - this.count('departed');
  }

  /** The keys still waiting, in order. */
  missing(): string[] {
    return [...this.keys].filter(([, s]) => s === 'waiting').map(([k]) => k);
  }

  /**
   * Whether the condition holds. `majority-complete`: more than half of the counted keys
   * satisfied; every other type: no counted key still waiting. Nothing left to count → true.
   */
  met(type: SynchronizationPoint['condition']['type']): boolean {
    const expected = this.expected;
    if (expected === 0) return true;
    if (type === 'majority-complete') return this.arrived * 2 > expected;
    return this.arrived === expected;
  }

  private count(state: KeyState): number {
    let n = 0;
    for (const s of this.keys.values()) if (s === state) n++;
    return n;
  }
}
