/**
 * Agent plugin probes kept on disk: a second process (here, a second cache on the same file)
 * does not probe a plugin file it has seen; a changed file or setting probes again; a bad,
 * oversized or tampered store is ignored, never fatal; failures are not kept.
 */
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { failure, success } from '@qi/base';
import { describe, expect, it } from 'vitest';
import { qiError } from '../src/errors/catalogue.js';
import { PluginProbeCache } from '../src/plugins/probe-cache.js';
import { MAX_STORE_BYTES, ProbeStore } from '../src/plugins/probe-store.js';
import type { PluginInfo } from '../src/subagent/instance.js';

const info: PluginInfo = { name: 'counter', type: 'basic', capabilities: ['count'] };

function setup(): { dir: string; plugin: string; store: string; probes: string[]; probe: (file: string) => Promise<ReturnType<typeof success<PluginInfo>>> } {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-probe-store-')));
  const plugin = path.join(dir, 'plugin.mjs');
  writeFileSync(plugin, 'export default {}\n');
  const probes: string[] = [];
  return { dir, plugin, store: path.join(dir, 'cache', 'probes.json'), probes, probe: async (file) => (probes.push(file), success(info)) };
}

describe('persistent plugin probes', () => {
  it('a new cache on the same file answers without probing; a changed file or setting probes again', async () => {
    const { plugin, store, probes, probe } = setup();
    expect(await new PluginProbeCache(256, store).probe(plugin, 's1', probe)).toEqual(success(info));
    expect(probes).toHaveLength(1);
    expect(await new PluginProbeCache(256, store).probe(plugin, 's1', probe)).toEqual(success(info));
    expect(probes).toHaveLength(1);
    await new PluginProbeCache(256, store).probe(plugin, 's2', probe);
    expect(probes).toHaveLength(2);
    writeFileSync(plugin, 'export default { changed: true }\n');
    await new PluginProbeCache(256, store).probe(plugin, 's1', probe);
    expect(probes).toHaveLength(3);
  });

  it("keeps a reentrant plugin's concurrency", async () => {
    const { plugin, store, probes } = setup();
    const reentrant: PluginInfo = { ...info, concurrency: 8 };
    const probe = async (file: string) => (probes.push(file), success(reentrant));
    await new PluginProbeCache(256, store).probe(plugin, 's1', probe);
    expect(await new PluginProbeCache(256, store).probe(plugin, 's1', probe)).toEqual(success(reentrant));
    expect(probes).toHaveLength(1);
  });

  it('keeps no failure', async () => {
    const { plugin, store } = setup();
    let calls = 0;
    const failing = async () => (calls++, failure(qiError('PLUGIN_INVALID', 'no', {})));
    await new PluginProbeCache(256, store).probe(plugin, 's', failing);
    await new PluginProbeCache(256, store).probe(plugin, 's', failing);
    expect(calls).toBe(2);
  });

  it('ignores a store that is not JSON, is oversized, or whose entries are malformed, and rewrites it whole', async () => {
    const { plugin, store, probes, probe } = setup();
    await new PluginProbeCache(256, store).probe(plugin, 's', probe);
    const key = new ProbeStore(store).keyOf(plugin, 's')!;
    for (const bad of [
      'not json',
      JSON.stringify({ version: 1, entries: { [key]: { ...info, name: 'x'.repeat(300) } } }),
      JSON.stringify({ version: 1, entries: { [key]: { ...info, extra: 1 } } }),
      JSON.stringify({ version: 2, entries: { [key]: info } }),
      JSON.stringify({ version: 1, entries: { [key]: info }, pad: 'x'.repeat(MAX_STORE_BYTES) }),
    ]) {
      writeFileSync(store, bad);
      const before = probes.length;
      expect(await new PluginProbeCache(256, store).probe(plugin, 's', probe)).toEqual(success(info));
      expect(probes.length).toBe(before + 1);
      // The probe's answer replaced the bad file.
      expect(JSON.parse(readFileSync(store, 'utf8'))).toEqual({ version: 1, entries: { [key]: info } });
    }
  });

  it('a store that cannot be written costs a probe, not a failure', async () => {
    const { plugin, dir, probes, probe } = setup();
    writeFileSync(path.join(dir, 'file'), '');
    const unwritable = path.join(dir, 'file', 'probes.json');
    expect(await new PluginProbeCache(256, unwritable).probe(plugin, 's', probe)).toEqual(success(info));
    expect(await new PluginProbeCache(256, unwritable).probe(plugin, 's', probe)).toEqual(success(info));
    expect(probes).toHaveLength(2);
  });
});
