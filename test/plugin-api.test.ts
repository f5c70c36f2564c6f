import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineAgent, defineStrategy, type AgentPlugin, type AgentPluginContext, type SubtaskView } from 'qicoord/plugin';

describe('qicoord/plugin types', () => {
  it('defineAgent keeps the literal name and type, and types ctx and subtask', () => {
    const plugin = defineAgent({
      name: 'typed',
      type: 'specialized',
      capabilities: ['x'],
      async execute(subtask, ctx) {
        expectTypeOf(subtask).toEqualTypeOf<SubtaskView>();
        expectTypeOf(ctx).toEqualTypeOf<AgentPluginContext>();
        expectTypeOf(ctx.tools.call<string>('read', { path: 'a' })).resolves.toBeString();
        expectTypeOf(ctx.sync<number>('total', 1)).resolves.toBeNumber();
        return { ok: true };
      },
    });
    expectTypeOf(plugin.name).toEqualTypeOf<'typed'>();
    expectTypeOf(plugin.type).toEqualTypeOf<'specialized'>();
    expect(plugin.name).toBe('typed');
  });

  it('defineAgent rejects a wrong type, a missing execute and a non-object result', () => {
    // @ts-expect-error: 'wizard' is not an agent type
    defineAgent({ name: 'a', type: 'wizard', capabilities: [], execute: async () => ({}) });
    // @ts-expect-error: execute is required
    defineAgent({ name: 'a', type: 'basic', capabilities: [] });
    // @ts-expect-error: execute must return outputs keyed by name
    defineAgent({ name: 'a', type: 'basic', capabilities: [], execute: async () => 42 });
    // What the checks above rest on: execute resolves with outputs keyed by name, type is the closed union.
    expectTypeOf<Awaited<ReturnType<AgentPlugin['execute']>>>().toEqualTypeOf<Readonly<Record<string, unknown>>>();
    expectTypeOf<AgentPlugin['type']>().toEqualTypeOf<'basic' | 'decision-capable' | 'specialized'>();
    expectTypeOf<{ name: 'a'; type: 'wizard'; capabilities: []; execute: () => Promise<object> }>().not.toExtend<AgentPlugin>();
  });

  it('defineStrategy is typed the same way', () => {
    const s = defineStrategy({ name: 'one', kind: 'strategy', plan: () => [], createScheduler: () => ({ concurrency: () => 1, pick: () => -1 }) });
    expectTypeOf(s.name).toEqualTypeOf<'one'>();
    // @ts-expect-error: kind must be 'strategy'
    defineStrategy({ name: 'x', kind: 'agent', plan: () => [], createScheduler: () => ({ concurrency: () => 1, pick: () => -1 }) });
    expect(s.kind).toBe('strategy');
  });
});

/** Every relative or package import of the TS files under a folder. */
function importsUnder(dir: string): { file: string; spec: string }[] {
  const out: { file: string; spec: string }[] = [];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) out.push(...importsUnder(file));
    else if (file.endsWith('.ts')) {
      for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)) out.push({ file, spec: m[1]! });
    }
  }
  return out;
}

describe('module boundaries (STYLE 12)', () => {
  const root = path.join(import.meta.dirname, '..');

  it('sandbox/ imports only Node built-ins, itself, the shared protocol and plugin types', () => {
    const bad = importsUnder(path.join(root, 'sandbox')).filter(
      ({ spec }) => !spec.startsWith('node:') && !spec.startsWith('./') && !spec.startsWith('../src/protocol/') && !spec.startsWith('../src/plugin/') && spec !== '@qi/base',
    );
    expect(bad).toEqual([]);
  });

  it('sandbox/ imports @qi/base and src types only as types (nothing to load in the child)', () => {
    const typeOnly = /^import type /;
    for (const file of readdirSync(path.join(root, 'sandbox'))) {
      const text = readFileSync(path.join(root, 'sandbox', file), 'utf8');
      for (const line of text.split('\n').filter((l) => /from '(@qi\/base|\.\.\/src\/plugin\/)/.test(l))) expect(line).toMatch(typeOnly);
    }
  });

  it('plugins/ import only qicoord/plugin (and their own helpers), exactly as a user plugin would', () => {
    const bad = importsUnder(path.join(root, 'plugins')).filter(({ spec }) => spec !== 'qicoord/plugin' && !spec.startsWith('./') && !spec.startsWith('node:'));
    expect(bad).toEqual([]);
  });
});
