import type { QiError } from '@qi/base';
import type { SubtaskStatus } from '../events/types.js';
import type { ResourceUsage } from '../schemas/resources.js';
import type { DelegatedSubtask } from './delegation.js';

/**
 * What happens to a run, as plain JSON: the reducer (reducer.ts) is the only code that changes a
 * run's state, and it changes it only by applying these. Every field is data a journal can write
 * as one JSONL line and a resume can replay: times are epoch ms, errors are plain QiError objects,
 * outputs are the subtask's JSON outputs, and each event names its subtask by index (position in
 * the run's subtask list, stable because subtasks are only ever appended) and by id.
 */
export type RunEvent =
  | { readonly type: 'run-started'; readonly at: number }
  /** Subtasks one running subtask delegated (ctx.delegate), appended to the run: all of one parent. */
  | { readonly type: 'subtasks-added'; readonly subtasks: readonly DelegatedSubtask[]; readonly at: number }
  /**
   * Attempt numbers up to `upTo` may be sent to agents from now on. Recorded before the first
   * attempt above the number reserved so far is sent (a journal has it in the file first), so a
   * resume can number every attempt above any that may have run, without a record per start.
   */
  | { readonly type: 'attempts-reserved'; readonly upTo: number; readonly at: number }
  /** An attempt begins: the subtask holds a concurrency slot and waits for an agent (not journaled: a resume takes it from the attempt's next record). */
  | { readonly type: 'subtask-dispatched'; readonly index: number; readonly subtaskId: string; readonly attempt: number; readonly at: number }
  /** The attempt's agent is bound and the subtask sent to it (not journaled: its attempt's end names the agent and the start). */
  | { readonly type: 'subtask-started'; readonly index: number; readonly subtaskId: string; readonly attempt: number; readonly agentId: string; readonly at: number }
  | ({ readonly type: 'subtask-succeeded'; readonly outputs: Readonly<Record<string, unknown>> } & AttemptEnd)
  /** An attempt failed and the subtask goes back to pending (retry, deadline extended). */
  | ({ readonly type: 'subtask-requeued'; readonly error: QiError; readonly delayMs: number; readonly reason: string } & AttemptEnd)
  /** The subtask failed for good. */
  | ({ readonly type: 'subtask-failed'; readonly error: QiError } & AttemptEnd)
  | { readonly type: 'subtask-cancelled'; readonly index: number; readonly subtaskId: string; readonly error?: QiError | undefined; readonly at: number }
  /** Never ran: an upstream did not succeed, or the strategy would not start it. */
  | { readonly type: 'subtask-skipped'; readonly index: number; readonly subtaskId: string; readonly error: QiError; readonly at: number }
  | { readonly type: 'sync-released'; readonly pointId: string; readonly outcome: unknown; readonly at: number }
  /** A fallback action of the plan carried out (extend-deadline names `index` and `factor` in its detail). */
  | { readonly type: 'fallback-applied'; readonly action: string; readonly detail: Readonly<Record<string, unknown>>; readonly at: number }
  | { readonly type: 'run-ended'; readonly status: RunEndStatus; readonly error?: QiError | undefined; readonly at: number };

/** What every end of an attempt records (succeeded, requeued, failed). */
export interface AttemptEnd {
  readonly index: number;
  readonly subtaskId: string;
  readonly attempt: number;
  readonly usage?: ResourceUsage | undefined;
  /** The attempt's agent and start (what its `subtask-started` said: a journal keeps only its end). */
  readonly agentId?: string | undefined;
  readonly startedAt?: number | undefined;
  readonly at: number;
}

export type RunEndStatus = 'completed' | 'failed' | 'cancelled';

/** One subtask of a run, as the reducer keeps it. */
export interface SubtaskState {
  readonly id: string;
  status: SubtaskStatus;
  /** The number of its latest attempt (1 for the first; after a resume it continues above every number the earlier run may have used). */
  attempts: number;
  /** Attempts dispatched, as the run knows them (its own and the journal's): what the retry budget counts. */
  tries: number;
  agentId: string | undefined;
  error: QiError | undefined;
  startedAt: number | undefined;
  endedAt: number | undefined;
  usage: ResourceUsage | undefined;
  outputs: Readonly<Record<string, unknown>> | undefined;
  /** Multiplier of the subtask's maxDuration (extend-deadline). */
  deadlineFactor: number;
  extensions: number;
}

/** A run's state: plain data, changed only by `applyEvent`. */
export interface RunState {
  readonly subtasks: SubtaskState[];
  /** Subtasks in each status (every subtask is in exactly one). */
  readonly counts: Record<SubtaskStatus, number>;
  /** Released synchronization points: their outcomes, by point id. */
  readonly syncOutcomes: Record<string, unknown>;
  readonly fallbacks: { readonly action: string; readonly detail: Readonly<Record<string, unknown>> }[];
  /** reassign-tasks actions carried out (bounded by the plan's maxReassignments). */
  reassignments: number;
  /** The highest attempt number reserved (`attempts-reserved`): no attempt above it has been sent to an agent. */
  reservedAttempts: number;
  startedAt: number | undefined;
  ended: { readonly status: RunEndStatus; readonly error?: QiError | undefined; readonly at: number } | undefined;
}

/** Statuses a subtask never leaves. */
export const TERMINAL_STATUSES: ReadonlySet<SubtaskStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);
