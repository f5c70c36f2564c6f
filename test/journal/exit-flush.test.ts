/**
 * A process that exits mid-run (`process.exit`: the CLI's second Ctrl-C, a host's own exit)
 * writes its runs' queued journal records first: a subtask the run saw succeed is on disk, so a
 * resume does not run it again. Real processes: the host is a child process with real agents.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJournal } from '../../src/journal/read.js';
import { JOURNAL_FILE } from '../../src/journal/runs.js';
import { ok, tempProject } from '../helpers.js';

const HOST = path.join(import.meta.dirname, '../fixtures/exit-mid-run.mjs');

describe('a process exiting mid-run', () => {
  it('writes the journal records queued at that moment: every success the run reported is on disk', () => {
    const root = tempProject('qicoord-exit-');
    const host = spawnSync(process.execPath, [HOST, root], { encoding: 'utf8', timeout: 60_000 });
    expect(host.status, host.stderr).toBe(0);
    const said = JSON.parse(host.stdout.trim()) as { runId: string; succeeded: string[]; finished?: boolean };
    // It exited from its event handler, before the run ended.
    expect(said.finished).toBeUndefined();
    expect([...said.succeeded].sort()).toEqual(['a', 'b', 'c', 'd']);
    const records = ok(readJournal(path.join(root, 'runs', said.runId, JOURNAL_FILE))).records;
    const onDisk = records.filter((r) => r.type === 'subtask-succeeded').map((r) => String(r['subtaskId']));
    expect(onDisk.sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});
