import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { AgentPluginEntry } from '../plugins/registry.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import { childId, delegatedSubtask, parseRequests, pluginFor, replayedSubtask, type DelegatedSubtask, type DelegationLimits, type Widening } from './delegation.js';
import { TERMINAL_STATUSES, type RunEvent, type RunState } from './run-events.js';
import type { RunPlan } from './run-plan.js';

/** No descendants (shared: the common case on every subtask's end). */
const NONE: readonly number[] = [];

/** One `ctx.delegate` call waiting for its children. */
interface DelegateCall {
  readonly parent: number;
  readonly children: readonly number[];
  /** Children not ended yet. */
  open: number;
  readonly answer: (result: Result<unknown[], QiError>) => void;
}

/** What delegation needs of its run. */
export interface DelegationHost {
  readonly plan: RunPlan;
  readonly state: RunState;
  readonly limits: DelegationLimits;
  agentFor(name: string | undefined, capabilities: readonly string[]): AgentPluginEntry | undefined;
  /** Milliseconds left before subtask `i`'s deadline. */
  remainingMs(i: number): number;
  /** The run is being cancelled: nothing more may join it. */
  cancelled(): boolean;
  /** Applies an event to the run (and journals it). */
  record(event: RunEvent): boolean;
  /** Parent `i` began (true) or stopped (false) waiting for its children: it holds no concurrency slot meanwhile. */
  waiting(i: number, waits: boolean): void;
  /** Starts what the scheduler allows (a waiting parent's slot is free for others). */
  pump(): void;
}

/**
 * The delegation tree of one run: which subtask delegated which, how deep, how many in all, and
 * the parents waiting for their children. Children are ordinary subtasks of the run (appended by
 * a `subtasks-added` event), scheduled by the run's strategy; a child's id is its parent's id, a
 * `~` and the request's id (or position), so a parent's retry — or a resumed run — asking for
 * the same children finds those that already succeeded and gets their outputs without running
 * them again.
 */
export class RunDelegation {
  private readonly parentOf = new Map<number, number>();
  private readonly depthOf = new Map<number, number>();
  private readonly childrenOf = new Map<number, number[]>();
  /** Open `ctx.delegate` calls by the children they wait for. */
  private readonly waiters = new Map<number, DelegateCall[]>();
  /** Children a parent's current attempt has asked for so far (a request without an id is numbered by it). */
  private readonly asked = new Map<number, { attempt: number; count: number }>();
  /** Child specifications already made, per parent (equal requests share one). */
  private readonly specs = new Map<number, Map<string, { readonly spec: SubAgentSpecification; readonly widenings: readonly Widening[] }>>();

  constructor(private readonly host: DelegationHost) {}

  /** Delegated subtasks in the run. */
  get count(): number {
    return this.parentOf.size;
  }

  depth(i: number): number {
    return this.depthOf.get(i) ?? 0;
  }

  parent(i: number): number | undefined {
    return this.parentOf.get(i);
  }

  /** Subtask `i`'s delegated descendants that have not ended, deepest last. */
  openDescendants(i: number): readonly number[] {
    if (!this.childrenOf.has(i)) return NONE;
    const out: number[] = [];
    const walk = (p: number): void => {
      for (const c of this.childrenOf.get(p) ?? []) {
        if (!TERMINAL_STATUSES.has(this.host.state.subtasks[c]!.status)) out.push(c);
        walk(c);
      }
    };
    walk(i);
    return out;
  }

  /** `ctx.delegate` from the agent running `subtaskId` (the coordinator's binding, never the child's word). */
  fromAgent(agentId: string, subtaskId: string, requests: readonly unknown[], answer: (result: Result<unknown[], QiError>) => void): void {
    const i = this.host.plan.indexOf(subtaskId);
    if (i < 0 || this.host.state.subtasks[i]!.status !== 'running' || this.host.cancelled()) {
      return answer(failure(qiError('CANCELLED', `subtask '${subtaskId}' can no longer delegate: it or its run has ended`, { subtaskId, agentId })));
    }
    this.delegate(i, requests, answer);
  }

  /**
   * `ctx.delegate` from running subtask `parent`: the requests checked (shape, plugin, limits,
   * no escalation), the new children added to the run, and `answer` called with the outputs of
   * all of them once they have ended (in request order), or the first failed child's error. The
   * answer goes out as the last child's end is recorded, before the run's own work for that end.
   */
  delegate(parent: number, raw: readonly unknown[], answer: (result: Result<unknown[], QiError>) => void): void {
    const made = this.children(parent, raw);
    if (made.tag === 'failure') return answer(made);
    const { indices, added } = made.value;
    const call: DelegateCall = { parent, children: indices, open: 0, answer };
    for (const c of indices) {
      // New children are not in the state yet: open by definition.
      if (c < this.host.plan.subtasks.length && TERMINAL_STATUSES.has(this.host.state.subtasks[c]!.status)) continue;
      call.open++;
      const list = this.waiters.get(c);
      if (list === undefined) this.waiters.set(c, [call]);
      else list.push(call);
    }
    if (call.open === 0) return answer(this.outcome(call));
    // The parent waits from now on; its slot goes to what the scheduler picks, its new children included.
    this.host.waiting(parent, true);
    if (added.length > 0) this.host.record({ type: 'subtasks-added', subtasks: added, at: Date.now() });
    else this.host.pump();
  }

  /** The children one call stands for (made and added to the run, or found from an earlier attempt), or why not. */
  private children(parent: number, raw: readonly unknown[]): Result<{ readonly indices: number[]; readonly added: DelegatedSubtask[] }, QiError> {
    const { plan, state, limits } = this.host;
    const parentId = plan.idOf(parent);
    const depth = this.depth(parent) + 1;
    if (depth > limits.maxDepth) {
      return failure(qiError('DELEGATION_LIMIT', `subtask '${parentId}' is at delegation depth ${depth - 1}; delegation.maxDepth ${limits.maxDepth} allows no deeper sub-agents`, { subtaskId: parentId, depth, maxDepth: limits.maxDepth }));
    }
    const requests = parseRequests(raw, parentId);
    if (requests.tag === 'failure') return requests;
    const indices: number[] = [];
    const added: DelegatedSubtask[] = [];
    // Numbered per attempt, so that a retry (or a resumed run) asking the same again finds the same children.
    const attempt = state.subtasks[parent]!.attempts;
    const asked = this.asked.get(parent)?.attempt === attempt ? this.asked.get(parent)! : { attempt, count: 0 };
    this.asked.set(parent, asked);
    const first = asked.count;
    asked.count += requests.value.length;
    for (const [k, request] of requests.value.entries()) {
      const child = this.childFor(parent, childId(parentId, request.id ?? String(first + k)));
      if ('reuse' in child) {
        indices.push(child.reuse);
        continue;
      }
      const plugin = pluginFor(request, plan.specs[parent]!.plugin, (n, c) => this.host.agentFor(n, c));
      if (plugin.tag === 'failure') return plugin;
      let specs = this.specs.get(parent);
      if (specs === undefined) this.specs.set(parent, (specs = new Map()));
      const made = delegatedSubtask({ subtask: plan.subtasks[parent]!, spec: plan.specs[parent]!, depth: this.depth(parent), remainingMs: this.host.remainingMs(parent) }, request, child.fresh, plugin.value, specs);
      if (made.tag === 'failure') return made;
      added.push(made.value);
      indices.push(plan.subtasks.length + added.length - 1);
    }
    if (this.count + added.length > limits.maxSubtasks) {
      return failure(
        qiError('DELEGATION_LIMIT', `subtask '${parentId}' asked for ${added.length} sub-agent(s); the run has ${this.count} of its delegation.maxSubtasks ${limits.maxSubtasks}`, {
          subtaskId: parentId,
          asked: added.length,
          delegated: this.count,
          maxSubtasks: limits.maxSubtasks,
        }),
      );
    }
    return success({ indices, added });
  }

  /** A call's answer once its children have ended: their outputs, or the first failed child's error. */
  private outcome(call: DelegateCall): Result<unknown[], QiError> {
    const children = call.children.map((c) => this.host.state.subtasks[c]!);
    const failed = children.find((c) => c.status !== 'succeeded');
    if (failed !== undefined) {
      const error = failed.error ?? qiError('CANCELLED', `sub-agent '${failed.id}' did not run`, { subtaskId: failed.id });
      return failure({ ...error, context: { ...error.context, subtaskId: error.context['subtaskId'] ?? failed.id, delegatedBy: this.host.plan.idOf(call.parent) } });
    }
    return success(children.map((c) => c.outputs ?? {}));
  }

  /**
   * Applies a `subtasks-added` event to the plan (the live run's, or a journal's). A journal's
   * children are checked again (shape, parent, never wider than the parent); false: the event
   * does not fit and nothing was changed.
   */
  accepts(event: Extract<RunEvent, { type: 'subtasks-added' }>): boolean {
    const { plan } = this.host;
    const parentIndex = plan.indexOf(event.subtasks[0]?.parentId ?? '');
    if (parentIndex < 0) return false;
    return event.subtasks.every((d) => {
      const checked = replayedSubtask(d, (id) => (id === d.parentId ? plan.specs[parentIndex] : undefined));
      return checked !== undefined && checked.parentId === plan.idOf(parentIndex) && checked.depth === this.depth(parentIndex) + 1 && plan.indexOf(checked.id) < 0;
    });
  }

  /** The plan side of an applied `subtasks-added`: the children appended, under their parent. Returns their indices. */
  add(event: Extract<RunEvent, { type: 'subtasks-added' }>): number[] {
    const { plan } = this.host;
    const parent = plan.indexOf(event.subtasks[0]!.parentId);
    const first = plan.subtasks.length;
    plan.add(event.subtasks.map((d) => ({ subtask: d.subtask, spec: d.spec, parent })));
    const indices = event.subtasks.map((_, k) => first + k);
    const siblings = this.childrenOf.get(parent) ?? [];
    for (const [k, i] of indices.entries()) {
      this.parentOf.set(i, parent);
      this.depthOf.set(i, event.subtasks[k]!.depth);
      siblings.push(i);
    }
    this.childrenOf.set(parent, siblings);
    return indices;
  }

  /** Subtask `i` reached a terminal status: a call waiting for it is answered if it was its last open child. */
  onEnded(i: number): void {
    const waiting = this.waiters.get(i);
    if (waiting === undefined) return;
    this.waiters.delete(i);
    for (const call of waiting) {
      if (--call.open > 0) continue;
      this.host.waiting(call.parent, false);
      call.answer(this.outcome(call));
    }
  }

  /**
   * The child a request of `parent` with this base id stands for: the latest of `id`, `id#2`, …
   * when it succeeded (its outputs stand) or is still open; else a new one, under the next id
   * (a new one is only ever made after the latest ended without success).
   */
  private childFor(parent: number, id: string): { readonly reuse: number } | { readonly fresh: string } {
    let latest = -1;
    let candidate = id;
    for (let k = 2; ; candidate = `${id}#${k++}`) {
      const i = this.host.plan.indexOf(candidate);
      if (i < 0) break;
      latest = i;
    }
    const status = latest < 0 || this.parentOf.get(latest) !== parent ? undefined : this.host.state.subtasks[latest]!.status;
    return status === undefined || status === 'failed' || status === 'cancelled' || status === 'skipped' ? { fresh: candidate } : { reuse: latest };
  }

}
