import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const fixture = (name: string): string => path.join(root, 'test/fixtures', name);

/**
 * A coordinator carries heavy libraries only once it uses them: execa when an agent runs a
 * command, cosmiconfig when there is a config file to load, js-yaml for YAML, pino when a logger
 * can write. Measured in a fresh Node process over the built package (`pretest` builds dist/).
 */
describe('lean coordinator imports', () => {
  const steps = JSON.parse(
    execFileSync(process.execPath, ['--import', fixture('loaded-packages-hook.mjs'), fixture('loaded-packages.mjs'), path.join(root, 'dist')], { encoding: 'utf8', timeout: 60_000 }),
  ) as Record<string, string[]>;

  it('importing qicoord loads none of execa, cosmiconfig, js-yaml, pino', () => {
    expect(steps['import']).toEqual([]);
  });

  it('a config search that finds no file, a JSON task and a silent coordinator load none of them', () => {
    expect(steps['configSearch']).toEqual([]);
    expect(steps['jsonTask']).toEqual([]);
    expect(steps['silentCoordinator']).toEqual([]);
  });

  it('YAML loads js-yaml, a config file loads cosmiconfig, each when first needed', () => {
    expect(steps['yamlTask']).toEqual(['js-yaml']);
    expect(steps['configFile']).toEqual(['cosmiconfig', 'js-yaml']);
  });
});
