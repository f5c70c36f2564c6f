/** When waiting children can never get an agent: the admission check, on plain data. */
import { describe, expect, it } from 'vitest';
import { admissionStuck, type AdmissionView } from '../../src/execution/admission.js';
import type { LiveAgent } from '../../src/execution/run-agents.js';

const agent = (busy: boolean, retiring = false): LiveAgent => ({ busy, retiring }) as LiveAgent;

function view(agents: LiveAgent[], running: [number, LiveAgent | null][], waiting: number[], budget: number[]): AdmissionView {
  return { agents, running: new Map(running), waiting: (i) => waiting.includes(i), waitsForBudget: (i) => budget.includes(i) };
}

describe('admissionStuck', () => {
  const parent = agent(true);
  it('is stuck when every agent runs a waiting parent and the children wait for budget', () => {
    expect(admissionStuck(view([parent], [[0, parent], [1, null]], [0], [1]))).toBe(true);
  });
  it('is not stuck while an agent is idle or retiring (its budget can come back)', () => {
    expect(admissionStuck(view([parent, agent(false)], [[0, parent], [1, null]], [0], [1]))).toBe(false);
    expect(admissionStuck(view([parent, agent(true, true)], [[0, parent], [1, null]], [0], [1]))).toBe(false);
  });
  it('is not stuck while a running subtask still works, or an agent is being started', () => {
    expect(admissionStuck(view([parent], [[0, parent], [1, null]], [], [1]))).toBe(false);
    expect(admissionStuck(view([parent], [[0, parent], [1, null]], [0], []))).toBe(false);
  });
  it('is not stuck when nobody waits for budget', () => {
    expect(admissionStuck(view([parent], [[0, parent]], [0], []))).toBe(false);
  });
});
