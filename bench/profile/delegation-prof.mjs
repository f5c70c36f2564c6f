/**
 * Where a delegation round trip goes: one parent delegating N trivial children in a row (the
 * bench's delegation case), with the median round trip as the parent sees it and the
 * coordinator's CPU per delegation; with
 * `node --cpu-prof --cpu-prof-dir=DIR bench/profile/delegation-prof.mjs [N]`, its profile too
 * (read it with cpuprofile-top.mjs).
 */
import { createCoordinator } from '../../dist/src/index.js';
import { BENCH_DIR, configInput, fixture, ok } from '../lib/env.mjs';
import { strategy, timedRun } from '../lib/coordinator.mjs';

const n = Number(process.argv[2] ?? 3000);
const coordinator = ok(
  await createCoordinator({
    cwd: BENCH_DIR,
    agentId: 'bench',
    // The default rate cap (sandbox.maxMessagesPerSecond) would slow a parent asking this fast.
    config: configInput({ plugins: [fixture('delegate.mjs')], delegation: { maxDepth: 1, maxSubtasks: 100_000 }, sandbox: { maxMessagesPerSecond: 1_000_000 } }),
    journal: false,
  }),
  'createCoordinator',
);
const task = { id: 'deleg', subtasks: [{ id: 'p', agent: 'bench-delegate', inputs: [{ name: 'rounds', value: n }], expectedOutputs: [{ name: 'us' }], estimatedDuration: 100_000 }] };
let cpu0;
const { result } = await timedRun(coordinator, task, strategy('sequential', 1), () => (cpu0 = process.cpuUsage()));
const cpu = process.cpuUsage(cpu0);
const us = result.aggregatedResult.outputs['p'].us.slice(1).sort((a, b) => a - b);
console.log(`${n} delegations: median ${us[us.length >> 1].toFixed(0)} µs as the parent sees it; coordinator CPU ${((cpu.user + cpu.system) / n).toFixed(0)} µs per delegation (from the parent's start; user ${(cpu.user / n).toFixed(0)}, system ${(cpu.system / n).toFixed(0)})`);
await coordinator.close();
