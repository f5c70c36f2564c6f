import { pad } from './format.js';

/** A table column that can shrink to `min` or be dropped; lower `priority` stays longest. */
export interface FlexColumn {
  readonly title: string;
  readonly width: number;
  readonly min: number;
  readonly priority: number;
  /** Order in which spare width is handed out (default: `priority`); a wide column can take what is left. */
  readonly grow?: number;
}

/**
 * Fits columns into `columns` characters (one space between cells): drops the least important
 * columns until their minimum widths fit, then widens the rest toward their preferred widths,
 * most important first. Returns the kept columns' indexes (in table order) and their widths.
 */
export function fitColumns(all: readonly FlexColumn[], columns: number): { index: number; width: number }[] {
  const kept = all.map((c, index) => ({ c, index }));
  const need = (cols: typeof kept): number => cols.reduce((s, x) => s + x.c.min, 0) + Math.max(0, cols.length - 1);
  while (kept.length > 1 && need(kept) > columns) {
    const drop = kept.reduce((worst, x) => (x.c.priority > worst.c.priority ? x : worst));
    kept.splice(kept.indexOf(drop), 1);
  }
  const widths = new Map(kept.map((x) => [x.index, Math.min(x.c.min, columns)]));
  let spare = columns - need(kept);
  for (const x of [...kept].sort((a, b) => (a.c.grow ?? a.c.priority) - (b.c.grow ?? b.c.priority))) {
    const grow = Math.max(0, Math.min(spare, x.c.width - x.c.min));
    widths.set(x.index, widths.get(x.index)! + grow);
    spare -= grow;
  }
  return kept.map((x) => ({ index: x.index, width: widths.get(x.index)! }));
}

/** A table's lines with only the fitted columns, each cell padded or cut to its width. */
export function fittedTable(all: readonly FlexColumn[], rows: readonly (readonly string[])[], columns: number): string[] {
  const fit = fitColumns(all, columns);
  const line = (cells: readonly string[]): string => fit.map((f) => pad(cells[f.index] ?? '', f.width)).join(' ').trimEnd();
  return [line(all.map((c) => c.title)), ...rows.map(line)];
}

/** Cuts a line to `columns` characters, marking the cut. */
export function clip(text: string, columns: number): string {
  if (text.length <= columns) return text;
  return columns <= 1 ? text.slice(0, columns) : `${text.slice(0, columns - 1)}…`;
}
