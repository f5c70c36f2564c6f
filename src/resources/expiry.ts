/**
 * Unref'd expiry timers that also work past setTimeout's ~24.8-day ceiling.
 * @module
 */

/** Longest delay setTimeout accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs `fire` after `ms` of real time without keeping the process alive; returns a cancel function. */
export function scheduleExpiry(ms: number, fire: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (remaining: number): void => {
    const step = Math.min(remaining, MAX_TIMER_MS);
    timer = setTimeout(() => (remaining > step ? arm(remaining - step) : fire()), step);
    timer.unref();
  };
  arm(ms);
  return () => clearTimeout(timer);
}
