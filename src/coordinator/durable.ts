import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Config } from '../config/schema.js';
import type { TaskDistribution } from '../distribution/types.js';
import { qiError } from '../errors/catalogue.js';
import type { RunEvent } from '../execution/run-events.js';
import type { ResumedJournal, RunJournal } from '../journal/run-journal.js';
import { canonicalText, fingerprintOf, openRunJournal, startRunJournal, textFingerprint } from '../journal/run-journal.js';
import { coversPath } from '../subagent/grants.js';
import { packageVersion } from '../subagent/package-root.js';

/**
 * Durable runs, coordinator side: what a journal's head holds, the fingerprint that tells a
 * resume with changed inputs, and opening a journal to resume (A11).
 */

/** The parts of the config that decide a run's course (logging and where files go do not). */
function configForFingerprint(config: Config): unknown {
  return { plugins: config.plugins, defaults: config.defaults, resources: config.resources, sandbox: { ...config.sandbox, workspaceRoot: undefined, keepWorkspace: undefined } };
}


/**
 * A journal an agent could write to could be forged (a `subtask-succeeded` with made-up outputs
 * is replayed as done): the journal folder must not overlap any write grant.
 */
function writableByAgents(dir: string, config: Config): QiError | undefined {
  const grant = config.sandbox.writePaths.find((w) => coversPath(w, dir) || coversPath(dir, w));
  if (grant === undefined) return undefined;
  return qiError('JOURNAL_UNAVAILABLE', `the journal folder ${dir} overlaps sandbox.writePaths ${grant}, so agents could rewrite it; pass --journal DIR outside every write grant (or journal.dir)`, {
    journalDir: dir,
    writePath: grant,
  });
}

/** Starts the journal of a new run under `dir` (its head durable before anything runs). */
export async function journalNewRun(dir: string, distribution: TaskDistribution, config: Config): Promise<Result<RunJournal, QiError>> {
  const exposed = writableByAgents(dir, config);
  if (exposed !== undefined) return failure(exposed);
  // The task and strategy are serialized once: that text is both the head's copy and what the
  // fingerprint hashes (a 10,000-subtask task is megabytes of JSON; see runFingerprint).
  const texts = { task: JSON.stringify(distribution.originalTask), strategy: JSON.stringify(distribution.strategy) };
  const configText = canonicalText(configForFingerprint(config));
  return startRunJournal(
    dir,
    {
      runId: distribution.distributionId,
      taskId: distribution.originalTask.id,
      subtaskCount: distribution.subtasks.length,
      task: distribution.originalTask,
      strategy: distribution.strategy,
      fingerprint: fingerprintOf(texts.task, texts.strategy, configText),
      configFingerprint: textFingerprint(configText),
      qicoordVersion: packageVersion(),
      startedAt: Date.now(),
    },
    texts,
  );
}

/** A run reopened for a resume: its journal, its events, and the task and strategy it ran. */
export interface ReopenedRun extends ResumedJournal {
  readonly replay: readonly RunEvent[];
}

/**
 * Reopens run `runId` under `dir` to resume it: locked, read back, its inputs checked against
 * the current config (INVALID_JOURNAL on a changed config, naming the fix).
 */
export function reopenRun(dir: string, runId: string, config: Config): Result<ReopenedRun, QiError> {
  const exposed = writableByAgents(dir, config);
  if (exposed !== undefined) return failure(exposed);
  const opened = openRunJournal(dir, runId);
  if (opened.tag === 'failure') return opened;
  const { head } = opened.value;
  if (textFingerprint(canonicalText(configForFingerprint(config))) !== head.configFingerprint) {
    opened.value.journal.close();
    return failure(
      qiError('INVALID_JOURNAL', `run ${runId} was started with another config than the one in use now (fingerprint mismatch); resume with the config it started with (--config), or start a new run`, {
        runId,
      }),
    );
  }
  return success({ ...opened.value, replay: opened.value.events.filter((e) => e.type !== 'head') as unknown as RunEvent[] });
}

/** The distribution of a resumed run keeps the run's id (its journal folder, its events). */
export function asResumed(distribution: TaskDistribution, runId: string): TaskDistribution {
  return { ...distribution, distributionId: runId };
}

/** Resume needs a journal folder: the coordinator's `journal` option. */
export function noJournalError(runId: string): QiError {
  return qiError('INVALID_CONFIG', `cannot resume run ${runId}: this coordinator has no journal folder; create it with journal: { dir }`, { runId });
}
