/** Small text helpers for the CLI's tables. */

export function pad(text: string, width: number): string {
  const t = text.length > width ? `${text.slice(0, width - 1)}…` : text;
  return t.padEnd(width);
}

export function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A table as lines: header row, then rows, each cell padded to its column width. */
export function table(columns: readonly { title: string; width: number }[], rows: readonly (readonly string[])[]): string[] {
  const line = (cells: readonly string[]): string => columns.map((c, i) => pad(cells[i] ?? '', c.width)).join(' ').trimEnd();
  return [line(columns.map((c) => c.title)), ...rows.map(line)];
}
