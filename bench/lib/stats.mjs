/**
 * Summary statistics of a sample: min, median, p95 (nearest rank), max. Samples are numbers in
 * the figure's unit; an empty sample is a programming error.
 */

/** The q-quantile (0 < q ≤ 1) of a sorted array by nearest rank. */
function nearestRank(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The median (mean of the two middle values for an even count) of a sorted array. */
function medianOf(sorted) {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `{ n, min, median, p95, max }` of `samples`. */
export function summarize(samples) {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const sorted = Float64Array.from(samples).sort();
  return { n: sorted.length, min: sorted[0], median: medianOf(sorted), p95: nearestRank(sorted, 0.95), max: sorted[sorted.length - 1] };
}

/** The median of `samples` (unsorted). */
export function median(samples) {
  return summarize(samples).median;
}
