/**
 * The list of figures a bench run produces. A figure is `{ name, unit, n, min, median, p95 }`
 * plus, when it has one, `baseline: { name, median }` and `ratio` (median / baseline median, or
 * / ideal for makespans), and `goal` (from DESIGN.md B4) with `met`.
 */
import { summarize } from './stats.mjs';

const round = (x) => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

export class Figures {
  constructor() {
    /** @type {Map<string, object>} */
    this.byName = new Map();
  }

  /**
   * Adds a figure from raw samples.
   * @param {string} name
   * @param {string} unit
   * @param {number[]} samples
   * @param {{ baseline?: string | { name: string, median: number }, ideal?: number, ratio?: number, goal?: { op: '<=' | '>=' | '<', value: number, of?: 'median' | 'ratio' | 'p95' }, note?: string }} [extra]
   */
  add(name, unit, samples, extra = {}) {
    const s = summarize(samples);
    const figure = { name, unit, n: s.n, min: round(s.min), median: round(s.median), p95: round(s.p95) };
    const baseline = typeof extra.baseline === 'string' ? this.baselineOf(extra.baseline) : extra.baseline;
    if (baseline !== undefined) {
      figure.baseline = { name: baseline.name, median: round(baseline.median) };
      figure.ratio = round(extra.ratio ?? s.median / baseline.median);
    } else if (extra.ideal !== undefined) {
      figure.ideal = round(extra.ideal);
      figure.ratio = round(s.median / extra.ideal);
    } else if (extra.ratio !== undefined) figure.ratio = round(extra.ratio);
    if (extra.goal !== undefined) {
      const value = extra.goal.of === 'ratio' ? figure.ratio : extra.goal.of === 'p95' ? figure.p95 : figure.median;
      const met = extra.goal.op === '<=' ? value <= extra.goal.value : extra.goal.op === '<' ? value < extra.goal.value : value >= extra.goal.value;
      figure.goal = { ...extra.goal, of: extra.goal.of ?? 'median', met };
    }
    if (extra.note !== undefined) figure.note = extra.note;
    this.byName.set(name, figure);
    return figure;
  }

  baselineOf(name) {
    const f = this.byName.get(name);
    if (f === undefined) throw new Error(`baseline figure ${name} has not been measured yet`);
    return { name, median: f.median };
  }

  get(name) {
    return this.byName.get(name);
  }

  list() {
    return [...this.byName.values()];
  }
}
