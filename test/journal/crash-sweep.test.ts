/**
 * The crash-test sweep (A11), with real processes through the built CLI: a small DAG with a
 * fan-in, a decision sync point and a checkpoint is run with the crash switch armed at every
 * journal record — the coordinator SIGKILLs itself right after record N is written, or with half
 * of record N written — and then resumed; and runs are SIGKILLed from outside at record counts
 * drawn from a seeded PRNG, resumed, killed again, resumed. Each case asserts the effects:
 * outputs equal a run without a crash; every subtask recorded as succeeded before a crash
 * executed exactly once overall (the plugin leaves one marker file per execution); no attempt
 * number ran twice; no agent process is left; a decision recorded before the crash is the one every participant gets after
 * it; an interrupted subtask that had checkpointed restores its checkpoint.
 */
import { seeded } from '../strategy-sim.js';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CRASH_SWITCH_ENV } from '../../src/journal/crash-switch.js';
import { expandRecord } from '../../src/journal/event-group.js';
import { decodeRecord, type JournalRecord } from '../../src/journal/record.js';
import { JOURNAL_FILE } from '../../src/journal/runs.js';
import { CLI } from '../cli-helpers.js';
import { tempProject, writeFiles } from '../helpers.js';
import { waitUntil } from '../sandbox-helpers.js';

const PLUGIN = path.join(import.meta.dirname, '../fixtures/crash/sweep-plugin.mjs');
/** Crash cases run this many at a time (2 cores; each case forks a coordinator and 2 agents at once). */
const CONCURRENCY = 3;

type Outputs = Record<string, Record<string, number>>;

/** a → {b, c, e}; b and c vote at decision `vote`, e checkpoints at `cp`; f fans b, c, e in; g follows f. */
function taskFile(ms: number): string {
  const sub = (id: string, inputs: object[], output: string): object => ({ id, agent: 'sweep', inputs: [...inputs, { name: 'ms', value: ms }], expectedOutputs: [{ name: output }] });
  return JSON.stringify({
    task: {
      id: 'sweep',
      subtasks: [
        sub('a', [{ name: 'seed', value: 1 }], 'va'),
        sub('b', [{ name: 'va' }, { name: 'role', value: 'voter' }], 'vb'),
        sub('c', [{ name: 'va' }, { name: 'role', value: 'voter' }], 'vc'),
        sub('e', [{ name: 'va' }, { name: 'role', value: 'checkpointer' }], 've'),
        sub('f', [{ name: 'vb' }, { name: 'vc' }, { name: 've' }], 'vf'),
        sub('g', [{ name: 'vf' }], 'vg'),
      ],
    },
    strategy: {
      type: 'hybrid',
      maxConcurrentAgents: 2,
      synchronizationPoints: [
        { id: 'vote', type: 'decision', participatingAgents: ['b', 'c'], condition: { type: 'all-complete', parameters: { rule: 'first' } }, timeoutMs: 20_000 },
        { id: 'cp', type: 'checkpoint', participatingAgents: ['e'], timeoutMs: 20_000 },
      ],
    },
  });
}

/** A project folder of its own (its path is how the case finds its agents in /proc). */
function project(ms = 5): string {
  const dir = tempProject('qicoord-sweep-');
  copyFileSync(PLUGIN, path.join(dir, 'sweep.mjs'));
  writeFiles(dir, {
    '.qicoordrc.json': JSON.stringify({ plugins: ['./sweep.mjs'], sandbox: { writePaths: ['./markers'], workspaceRoot: path.join(dir, 'ws') }, logging: { level: 'error' } }),
    'task.json': taskFile(ms),
  });
  mkdirSync(path.join(dir, 'markers'));
  chmodSync(path.join(dir, 'markers'), 0o777);
  return dir;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI in `cwd`; `env` adds to PATH only. */
function cli(args: string[], cwd: string, env: Record<string, string> = {}): { kill: () => void; done: Promise<Exit> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { kill: () => child.kill('SIGKILL'), done };
}

const runDirOf = (dir: string): string | undefined => {
  const runs = path.join(dir, '.qicoord', 'runs');
  return existsSync(runs) ? readdirSync(runs).map((id) => path.join(runs, id))[0] : undefined;
};

/** The journal's good lines, decoded (a torn tail dropped, as a resume reads it). */
function journalLines(dir: string): JournalRecord[] {
  const runDir = runDirOf(dir);
  if (runDir === undefined || !existsSync(path.join(runDir, JOURNAL_FILE))) return [];
  const lines = readFileSync(path.join(runDir, JOURNAL_FILE), 'utf8').split('\n');
  lines.pop();
  return lines.map((l) => decodeRecord(l)).flatMap((d) => (d.ok ? [d.record] : []));
}

/** The records those lines stand for (a group of successes expanded): what the crash switch counts. */
const journalRecords = (dir: string): JournalRecord[] => journalLines(dir).flatMap((r) => expandRecord(r) ?? []);

const succeededIn = (records: readonly JournalRecord[]): Set<string> => new Set(records.filter((r) => r.type === 'subtask-succeeded').map((r) => String(r['subtaskId'])));
const decisionIn = (records: readonly JournalRecord[]): unknown => records.find((r) => r.type === 'sync-released' && r['pointId'] === 'vote')?.['outcome'];

/** One execution of a subtask: its marker file's name parts and the phases it reached. */
interface Execution {
  file: string;
  subtask: string;
  attempt: number;
  lines: string[];
}

function executions(dir: string): Execution[] {
  return readdirSync(path.join(dir, 'markers')).map((file) => {
    const [subtask, attempt] = file.split('.');
    return { file, subtask: subtask!, attempt: Number(attempt), lines: readFileSync(path.join(dir, 'markers', file), 'utf8').trim().split('\n') };
  });
}

/** Pids of processes whose command line names `dir` (the agents of that project; bwrap included). */
function processesOf(dir: string): string[] {
  return readdirSync('/proc').filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
    } catch {
      return false;
    }
  });
}

const outputsOf = (stdout: string): Outputs => (JSON.parse(stdout) as { value: { aggregatedResult: { outputs: Outputs } } }).value.aggregatedResult.outputs;

/** What each crash left behind, kept to assert on once the run is complete. */
interface Crash {
  succeeded: Set<string>;
  decision: unknown;
  /** Marker files present at the crash: executions of the killed coordinator(s). */
  before: Set<string>;
}

/** Notes what a crash left and checks that no agent outlived the coordinator. */
async function afterCrash(dir: string): Promise<Crash> {
  const records = journalRecords(dir);
  expect(await waitUntil(() => processesOf(dir).length === 0, 15_000), `agents left after the crash: ${processesOf(dir).join(', ')}`).toBe(true);
  return { succeeded: succeededIn(records), decision: decisionIn(records), before: new Set(readdirSync(path.join(dir, 'markers'))) };
}

/** The assertions every case ends with, once a resume completed the run. */
function assertRecovered(dir: string, crashes: readonly Crash[], outputs: Outputs, reference: Outputs): void {
  expect(outputs).toEqual(reference);
  const ran = executions(dir);
  for (const id of Object.keys(reference)) expect(ran.filter((e) => e.subtask === id && e.lines.at(-1) === 'done').length, `${id} completed`).toBeGreaterThanOrEqual(1);
  // An attempt number is never used twice, across every crash and resume (the idempotency key a
  // plugin may rely on): each subtask's executions carry distinct numbers.
  const keys = ran.map((e) => `${e.subtask}#${e.attempt}`);
  expect(keys.filter((k, i) => keys.indexOf(k) !== i), 'attempt numbers used twice').toEqual([]);
  // Completed work is exactly-once: a subtask recorded as succeeded before a crash never ran
  // again after it (earlier attempts, interrupted by earlier crashes, are at-least-once).
  for (const c of crashes) {
    for (const id of c.succeeded) expect(ran.filter((e) => e.subtask === id && !c.before.has(e.file)).map((e) => e.file), `${id} ran again after its success was recorded`).toEqual([]);
  }
  // A decision stays decided: once on disk it is the run's decision, and every participant
  // that ran after the last crash that came before it was recorded got exactly that outcome.
  const final = decisionIn(journalRecords(dir));
  const recorded = crashes.find((c) => c.decision !== undefined)?.decision;
  if (recorded !== undefined) expect(final).toEqual(recorded);
  const undecided = crashes.filter((c) => c.decision === undefined).at(-1)?.before ?? new Set<string>();
  for (const e of ran.filter((x) => !undecided.has(x.file))) {
    const seen = e.lines.find((l) => l.startsWith('decision '));
    if (seen !== undefined) expect(JSON.parse(seen.slice('decision '.length)), `${e.file} decision`).toEqual(final);
  }
  // An interrupted checkpointer restores what it checkpointed before the crash.
  const checkpointedAt = crashes.findIndex((c) => ran.some((e) => c.before.has(e.file) && e.subtask === 'e' && e.lines.includes('checkpointed')));
  if (checkpointedAt >= 0) {
    // (An execution killed by a later crash before its restore returned has nothing to show.)
    for (const e of ran.filter((x) => x.subtask === 'e' && !crashes[checkpointedAt]!.before.has(x.file))) {
      const restored = e.lines.find((l) => l.startsWith('restored '));
      if (restored !== undefined || e.lines.length > 1) expect(restored, e.file).toBe('restored {"step":1}');
    }
  }
  expect(processesOf(dir)).toEqual([]);
}

/** Runs `cases` with at most `limit` at a time. */
async function inPool<T>(cases: readonly T[], limit: number, run: (c: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) await run(cases[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}


async function referenceRun(): Promise<{ outputs: Outputs; records: number }> {
  const dir = project();
  const r = await cli(['run', 'task.json', '--json'], dir).done;
  expect(r.code, r.stderr).toBe(0);
  return { outputs: outputsOf(r.stdout), records: journalRecords(dir).length };
}

describe('crash-test sweep', () => {
  it('a crash right after, or in the middle of, every journal record; then a resume', async () => {
    const reference = await referenceRun();
    // Every kind the run writes: head, start, the attempts reserved, successes, the sync release, the end.
    expect(reference.records).toBeGreaterThan(10);
    const cases = Array.from({ length: reference.records }, (_, i) => [`${i + 1}`, `${i + 1}:torn`]).flat();
    await inPool(cases, CONCURRENCY, async (at) => {
      const dir = project();
      const crashed = await cli(['run', 'task.json', '--json'], dir, { [CRASH_SWITCH_ENV]: at }).done;
      expect(crashed.signal, `${at}: ${crashed.stderr}`).toBe('SIGKILL');
      const crash = await afterCrash(dir);
      const runId = path.basename(runDirOf(dir)!);
      const resumed = await cli(['resume', runId, '--json'], dir).done;
      if (at === '1:torn') {
        // Killed while writing the head: nothing ran, and the resume says to start again.
        expect(resumed.code).toBe(2);
        expect(resumed.stdout).toContain(`run ${runId} never started`);
        expect(readdirSync(path.join(dir, 'markers'))).toEqual([]);
        return;
      }
      expect(resumed.code, `${at}: ${resumed.stderr}`).toBe(0);
      assertRecovered(dir, [crash], outputsOf(resumed.stdout), reference.outputs);
      // One life before the crash, no retries: what had succeeded executed exactly once overall.
      for (const id of crash.succeeded) expect(executions(dir).filter((e) => e.subtask === id), `${at}: ${id}`).toHaveLength(1);
      // The run is finished for good: its journal ends with the run's end.
      expect(journalRecords(dir).at(-1)).toMatchObject({ type: 'run-ended', status: 'completed' });
    });
  }, 180_000);

  it('runs SIGKILLed from outside at seeded record counts, resumed, killed again, resumed', async () => {
    const reference = await referenceRun();
    const random = seeded(0x11d);
    const cases = Array.from({ length: 4 }, (_, i) => i);
    await inPool(cases, 2, async () => {
      // Subtasks take 100 ms here, so the polling below sees the journal grow record by record.
      const dir = project(100);
      const crashes: Crash[] = [];
      let command = ['run', 'task.json', '--json'];
      for (let round = 0; round < 3; round++) {
        const killAt = journalRecords(dir).length + 1 + Math.floor(random() * 8);
        const running = cli(command, dir);
        let exited: Exit | undefined;
        void running.done.then((e) => (exited = e));
        await waitUntil(() => exited !== undefined || journalRecords(dir).length >= killAt, 30_000);
        running.kill();
        const end = await running.done;
        if (end.signal !== 'SIGKILL') break; // it finished first: nothing to resume from
        crashes.push(await afterCrash(dir));
        command = ['resume', path.basename(runDirOf(dir)!), '--json'];
      }
      // The first kill lands within the first 9 records, long before the run can end.
      expect(crashes.length).toBeGreaterThan(0);
      const last = await cli(['resume', path.basename(runDirOf(dir)!), '--json'], dir).done;
      expect(last.code, last.stderr).toBe(0);
      assertRecovered(dir, crashes, outputsOf(last.stdout), reference.outputs);
    });
  }, 120_000);
});
