import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The package as a user gets it (DESIGN A14): `npm pack`, then `npm install ./qicoord-<v>.tgz`
 * alone in a fresh project with no workspace around it. @qi/base is not in any registry, so
 * this fails if anything still asks the registry for it. Third-party dependencies come from the
 * npm cache when they are there (`--prefer-offline`), else from the registry.
 */
const run = promisify(execFile);
const root = path.join(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
const work = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-pack-')));
const project = path.join(work, 'project');
const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? os.homedir(), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The README's embedding snippet, exactly as written. */
function readmeSnippet(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Embedding'));
  return /```js\n([\s\S]*?)```/.exec(section)![1]!;
}

describe('the packed package', () => {
  it('installs alone into a fresh project, where npx qicoord --version, init, run, the README embedding and the types work', { timeout: 240_000 }, async () => {
    // 1. pack (dist/ is built by `pretest`) and install the tarball alone.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, env, maxBuffer: 64 * 1024 * 1024 });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'dist/vendor/qi-base/index.js', 'dist/src/cli/main.js', 'examples/pipeline/task.yaml']));
    expect(files.some((f) => f.endsWith('.tsbuildinfo'))).toBe(false);
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'fresh', private: true, type: 'module' }));
    await run('npm', ['install', `../${info!.filename}`, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project, env, timeout: 180_000 });
    const installed = JSON.parse(readFileSync(path.join(project, 'node_modules/qicoord/package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(installed.dependencies)).not.toContain('@qi/base');

    // 2. the CLI through npx, from the project and from a folder below it.
    const npx = (args: string[], cwd = project) => run('npx', ['qicoord', ...args], { cwd, env, timeout: 60_000 });
    expect((await npx(['--version'])).stdout).toBe(`${manifest.version}\n`);
    expect((await npx(['-V'])).stdout).toBe(`${manifest.version}\n`);
    expect((await npx(['init'])).stdout).toContain('next: qicoord run task.yaml');
    mkdirSync(path.join(project, 'elsewhere'));
    const ran = await npx(['run', '../task.yaml', '--json'], path.join(project, 'elsewhere'));
    const doc = JSON.parse(ran.stdout) as { tag: string; value: { success: boolean; aggregatedResult: { outputs: Record<string, Record<string, unknown>> } } };
    expect(doc.tag).toBe('success');
    expect(doc.value.success).toBe(true);
    expect(doc.value.aggregatedResult.outputs['total']).toMatchObject({ total: 15, parts: 2 });

    // 3. the README's embedding snippet, as written.
    writeFileSync(path.join(project, 'host.mjs'), readmeSnippet());
    const hosted = await run(process.execPath, ['host.mjs'], { cwd: project, env, timeout: 60_000 });
    expect(hosted.stdout).toContain("true { greeting: 'hello', subject: 'world' }");

    // 4. types resolve from the package's exports with nodenext and bundler resolution.
    writeFileSync(
      path.join(project, 'check.ts'),
      [
        "import { createCoordinator, type CoordinationResult } from 'qicoord';",
        "import { defineAgent } from 'qicoord/plugin';",
        "import { runPluginForTest, AgentTestUtils } from 'qicoord/testing';",
        "const agent = defineAgent({ name: 'a', type: 'basic', capabilities: [], execute: async () => ({}) });",
        'export const used: unknown[] = [createCoordinator, agent, runPluginForTest, AgentTestUtils];',
        'export type R = CoordinationResult;',
        "const n: number = (await createCoordinator()).tag === 'success' ? 1 : 'x'.length;",
        'export { n };',
      ].join('\n'),
    );
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const types = ['--types', 'node', '--typeRoots', path.join(root, 'node_modules/@types')];
    for (const [module, resolution] of [['nodenext', 'nodenext'], ['esnext', 'bundler']] as const) {
      await run(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', module, '--moduleResolution', resolution, ...types, 'check.ts'], { cwd: project, env });
    }
  });
});
