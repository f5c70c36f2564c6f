/** The results table printed on stdout. */

function fmt(x) {
  if (x === undefined || x === null) return '';
  if (typeof x !== 'number') return String(x);
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 10_000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

function goalText(goal) {
  if (goal === undefined) return '';
  const what = goal.of === 'ratio' ? 'ratio ' : '';
  return `${what}${goal.op} ${goal.value} ${goal.met ? 'met' : 'MISSED'}`;
}

/** Renders figures as an aligned text table. */
export function renderTable(figures) {
  const head = ['figure', 'unit', 'n', 'min', 'median', 'p95', 'baseline (median)', 'ratio', 'goal (B4)'];
  const rows = figures.map((f) => [
    f.name,
    f.unit,
    String(f.n),
    fmt(f.min),
    fmt(f.median),
    fmt(f.p95),
    f.baseline !== undefined ? `${f.baseline.name} (${fmt(f.baseline.median)})` : f.ideal !== undefined ? `ideal (${fmt(f.ideal)})` : '',
    f.ratio !== undefined ? `${fmt(f.ratio)}×` : '',
    goalText(f.goal),
  ]);
  const numeric = new Set([2, 3, 4, 5, 7]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
