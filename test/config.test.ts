import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/defaults.js';
import { loadConfig, resolveConfig } from '../src/index.js';
import { SEARCH_PLACES } from '../src/config/load.js';
import { err, issueLines, ok, tempProject, writeFiles } from './helpers.js';

const sample = { monitor: { pollIntervalMs: 50 } };
const yamlSample = 'monitor:\n  pollIntervalMs: 50\n';
const esm = `export default ${JSON.stringify(sample)};\n`;
const cjs = `module.exports = ${JSON.stringify(sample)};\n`;

const placeContents: Record<(typeof SEARCH_PLACES)[number], string> = {
  'package.json': JSON.stringify({ name: 'fixture', qicoord: sample }),
  '.qicoordrc': JSON.stringify(sample),
  '.qicoordrc.json': JSON.stringify(sample),
  '.qicoordrc.yaml': yamlSample,
  '.qicoordrc.yml': yamlSample,
  '.qicoordrc.js': cjs,
  '.qicoordrc.cjs': cjs,
  '.qicoordrc.mjs': esm,
  'qicoord.config.js': cjs,
  'qicoord.config.cjs': cjs,
  'qicoord.config.mjs': esm,
  'qicoord.config.ts': `const config: { monitor: { pollIntervalMs: number } } = ${JSON.stringify(sample)};\nexport default config;\n`,
};

describe('loadConfig', () => {
  it.each(SEARCH_PLACES)('finds %s', async (place) => {
    const dir = tempProject();
    writeFiles(dir, { [place]: placeContents[place] });
    const config = ok(await loadConfig({ cwd: dir }));
    expect(config.monitor.pollIntervalMs).toBe(50);
    expect(config.source.filepath).toBe(path.join(dir, place));
  });

  it('reads a YAML .qicoordrc (no extension)', async () => {
    const dir = tempProject();
    writeFiles(dir, { '.qicoordrc': yamlSample });
    expect(ok(await loadConfig({ cwd: dir })).monitor.pollIntervalMs).toBe(50);
  });

  it('searches up from a subfolder to the project root', async () => {
    const dir = tempProject();
    writeFiles(dir, { '.qicoordrc.json': JSON.stringify(sample), 'a/b/keep': '' });
    const config = ok(await loadConfig({ cwd: path.join(dir, 'a/b') }));
    expect(config.source.filepath).toBe(path.join(dir, '.qicoordrc.json'));
  });

  it('uses the built-in defaults when there is no file', async () => {
    const dir = tempProject();
    const config = ok(await loadConfig({ cwd: dir }));
    expect(config.source).toEqual({ filepath: null, dir });
    expect(config.defaults).toEqual(DEFAULT_CONFIG.defaults);
    expect(config.monitor).toEqual(DEFAULT_CONFIG.monitor);
    expect(config.resources.maxTotalMemory).toBe(Math.floor((os.totalmem() / 1024 / 1024) * 0.5));
    expect(config.sandbox.workspaceRoot).toBe(path.join(os.tmpdir(), `qicoord-${process.getuid?.()}`));
    expect(config.sandbox.nodePath).toBe(process.execPath);
  });

  it('merges a partial file over the defaults', async () => {
    const dir = tempProject();
    writeFiles(dir, { '.qicoordrc.json': JSON.stringify({ defaults: { resourceLimits: { maxMemoryMB: 128 } } }) });
    const config = ok(await loadConfig({ cwd: dir }));
    expect(config.defaults.resourceLimits).toEqual({ ...DEFAULT_CONFIG.defaults.resourceLimits, maxMemoryMB: 128 });
    expect(config.defaults.securityConstraints).toEqual(DEFAULT_CONFIG.defaults.securityConstraints);
  });

  it('names an unknown key with the likely intended one', async () => {
    const dir = tempProject();
    writeFiles(dir, { '.qicoordrc.json': JSON.stringify({ defualts: {}, monitor: { pollIntervalMS: 5 } }) });
    const e = err(await loadConfig({ cwd: dir }));
    expect(e.category).toBe('CONFIGURATION');
    expect(e.code).toBe('INVALID_CONFIG');
    expect(issueLines(e).sort()).toEqual([
      "defualts: unknown key (did you mean 'defaults'?)",
      "monitor.pollIntervalMS: unknown key (did you mean 'pollIntervalMs'?)",
    ]);
    expect(e.message).toContain(path.join(dir, '.qicoordrc.json'));
  });

  it('names the path of a wrong type', async () => {
    const dir = tempProject();
    writeFiles(dir, {
      '.qicoordrc.yaml': 'defaults:\n  resourceLimits:\n    maxMemoryMB: lots\n  isolationLevel: jail\npool:\n  size: -1\n',
    });
    const e = err(await loadConfig({ cwd: dir }));
    expect(issueLines(e)).toEqual([
      'defaults.isolationLevel: expected one of "sandbox", "restricted", "monitored", got "jail"',
      'defaults.resourceLimits.maxMemoryMB: expected a number, got "lots"',
      'pool.size: expected a number ≥ 0',
    ]);
  });

  it('reports a file that does not parse as INVALID_CONFIG', async () => {
    const dir = tempProject();
    writeFiles(dir, { '.qicoordrc.json': '{ "monitor": ' });
    const e = err(await loadConfig({ cwd: dir }));
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.message).toContain('.qicoordrc.json');
  });

  it('loads an explicit configPath, and fails clearly when it is missing', async () => {
    const dir = tempProject();
    writeFiles(dir, { 'conf/my.yaml': yamlSample, '.qicoordrc.json': '{}' });
    const config = ok(await loadConfig({ cwd: dir, configPath: 'conf/my.yaml' }));
    expect(config.monitor.pollIntervalMs).toBe(50);
    const e = err(await loadConfig({ cwd: dir, configPath: 'conf/nope.yaml' }));
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.message).toMatch(/does not exist/);
  });

  it("resolves relative paths against the config file's folder", async () => {
    const dir = tempProject();
    writeFiles(dir, {
      'conf/.qicoordrc.json': JSON.stringify({
        plugins: ['./my-plugin.mjs', 'some-package', '/abs/plugin.mjs'],
        sandbox: { workspaceRoot: 'ws', readPaths: ['../data'], writePaths: ['out'], nodePath: './bin/node' },
      }),
    });
    const config = ok(await loadConfig({ cwd: dir, configPath: 'conf/.qicoordrc.json' }));
    expect(config.plugins).toEqual([path.join(dir, 'conf/my-plugin.mjs'), 'some-package', '/abs/plugin.mjs']);
    expect(config.sandbox.workspaceRoot).toBe(path.join(dir, 'conf/ws'));
    expect(config.sandbox.readPaths).toEqual([path.join(dir, 'data')]);
    expect(config.sandbox.writePaths).toEqual([path.join(dir, 'conf/out')]);
    expect(config.sandbox.nodePath).toBe(path.join(dir, 'conf/bin/node'));
  });

  it('freezes the resolved config', async () => {
    const config = ok(resolveConfig({}, { filepath: null, dir: '/' }));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.defaults.resourceLimits)).toBe(true);
    expect(Object.isFrozen(config.plugins)).toBe(true);
    expect(() => {
      (config.monitor as { pollIntervalMs: number }).pollIntervalMs = 1;
    }).toThrow(TypeError);
  });

  it('ignores prototype keys in a config', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "monitor": {"pollIntervalMs": 20}}') as unknown;
    const config = ok(resolveConfig(input, { filepath: null, dir: '/' }));
    expect(config.monitor.pollIntervalMs).toBe(20);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('documented defaults', () => {
  it('the README shows exactly config/defaults', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = /<!-- defaults:start -->\s*```json\n([\s\S]*?)```\s*<!-- defaults:end -->/.exec(readme);
    expect(block, 'README has a defaults block').not.toBeNull();
    expect(JSON.parse(block![1]!)).toEqual(DEFAULT_CONFIG);
  });

  it('an example .qicoordrc written from the README parses', () => {
    const dir = tempProject();
    writeFileSync(path.join(dir, '.qicoordrc.json'), JSON.stringify(DEFAULT_CONFIG));
    return loadConfig({ cwd: dir }).then((r) => expect(r.tag).toBe('success'));
  });
});
