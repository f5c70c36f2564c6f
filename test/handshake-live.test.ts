/**
 * The start-up handshake of a real agent process: `init` waits in the pipe before the child has
 * said hello, so the child may be loading its plugin by the time the coordinator reads `hello`.
 * What the coordinator takes from that moment must not be the plugin's to inflate. The child
 * reads `init` synchronously and moves its channel onto a socket afterwards; a plugin that can
 * only be imported asynchronously says `ready` over that socket.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SubAgentFactory } from '../src/subagent/factory.js';
import { ok } from './helpers.js';
import { attack, makeFactory, spec, testConfig } from './sandbox-helpers.js';

const BALLAST = path.join(import.meta.dirname, 'fixtures/plugins/ballast-at-load.mjs');
const BALLAST_MB = 96;
const TOP_LEVEL_AWAIT = path.join(import.meta.dirname, 'fixtures/plugins/top-level-await.mjs');

const factories: SubAgentFactory[] = [];
afterEach(async () => {
  await Promise.all(factories.splice(0).map((f) => f.close()));
});

describe('the handshake with a live agent', () => {
  it("memory a plugin takes while loading is not part of its agent's baseline (its allowance stays maxMemoryMB)", async () => {
    const config = testConfig();
    const factory = makeFactory(config);
    factories.push(factory);
    const root = config.sandbox.workspaceRoot;
    // A first agent: host detection and everything else cached, so the next spawn starts its
    // process within a few turns of the event loop.
    await ok(await factory.spawn(spec({ plugin: BALLAST }))).terminate('warm-up');
    const before = new Set(readdirSync(root));
    const pending = factory.spawn(spec({ plugin: BALLAST }));
    const fresh = (): string[] => readdirSync(root).filter((d) => !before.has(d));
    for (let turn = 0; turn < 1000 && fresh().length === 0; turn++) await new Promise((resolve) => setImmediate(resolve));
    // The process is started; its hello can only be read once this loop ends. Hold the event
    // loop (the coordinator's) until the plugin has its ballast, so the coordinator's own
    // reading at hello includes it.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !fresh().some((d) => existsSync(path.join(root, d, 'ballast-loaded')))) {
      // Busy: no I/O is handled here.
    }
    const agent = ok(await pending);
    expect(agent.instance.resourceUsage.memoryMB).toBeGreaterThan(0);
    expect(agent.instance.resourceUsage.memoryMB).toBeLessThan(BALLAST_MB);
    await agent.terminate('done');
  });

  it('a plugin with top-level await (imported, not required) gets ready and runs subtasks over the socket', async () => {
    const factory = makeFactory();
    factories.push(factory);
    const agent = ok(await factory.spawn(spec({ plugin: TOP_LEVEL_AWAIT })));
    expect(agent.instance.plugin.name).toBe('top-level-awaited');
    for (const name of ['first', 'second']) {
      const a = attack(name);
      expect(ok(await agent.execute(a.subtask, a.inputs)).outputs).toEqual({ data: `${name} awaited` });
    }
    await agent.terminate('done');
  });
});
