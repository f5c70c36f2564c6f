// Unit tests of an agent plugin, in this process, with a working ctx: `node --test` runs them.
// Tool calls go through qicoord's real tool broker against a temporary workspace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runPluginForTest } from 'qicoord/testing';
import lineCounter from './plugins/line-counter.mjs';

test('counts the non-empty lines of a file in its workspace', async () => {
  const run = await runPluginForTest(lineCounter, { inputs: { path: 'notes.txt' }, files: { 'notes.txt': 'one\ntwo\n\nthree\n' } });
  assert.equal(run.result.tag, 'success');
  assert.deepEqual(run.result.value, { lines: 3 });
  assert.deepEqual(run.progress.map((p) => p.fraction), [0.5, 1]);
  assert.equal(run.usage.toolCalls, 1);
});

test('a read outside its grants fails the way it would in an agent (FS_DENIED)', async () => {
  const run = await runPluginForTest(lineCounter, { inputs: { path: '/etc/passwd' } });
  assert.equal(run.result.tag, 'failure');
  assert.equal(run.result.error.code, 'FS_DENIED');
});
