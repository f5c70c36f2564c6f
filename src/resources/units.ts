/**
 * Memory units. Binary multiples, as for RSS readings: 1 GB = 1024 MB, 1 MB = 1024 KB = 1048576 B.
 * @module
 */

const MB_PER_UNIT: Readonly<Record<string, number>> = {
  B: 1 / (1024 * 1024),
  KB: 1 / 1024,
  MB: 1,
  GB: 1024,
};

/** The memory units {@link toMegabytes} knows (matched case-insensitively). */
export const MEMORY_UNITS: readonly string[] = Object.keys(MB_PER_UNIT);

/** `amount` of `unit` in MB, or `undefined` for a unit that is not B, KB, MB or GB. */
export function toMegabytes(amount: number, unit: string): number | undefined {
  const factor = MB_PER_UNIT[unit.toUpperCase()];
  return factor === undefined ? undefined : amount * factor;
}
