// Table layout for Output.table (which alone writes it): boxes fitted to a terminal's width, or plain
// aligned columns for pipes, files and TERM=dumb. Hand-written rather than cli-table3: it took
// 0.3 ms a row (3.4 s for 10,000 rows), and fitting columns to the width is ours to decide anyway.

import { stripVTControlCharacters } from 'node:util';

export type Align = 'left' | 'right';

const visible = (text: string): number => stripVTControlCharacters(text).length;

/** Words of a cell: split at spaces, and after commas (pool lists "ssd,s3" wrap between pools). */
function words(text: string): { word: string; glued: boolean }[] {
  return text
    .split(/\s+/)
    .filter((w) => w !== '')
    .flatMap((w) => w.split(/(?<=,)(?=.)/).map((word, i) => ({ word, glued: i > 0 })));
}

/** The narrowest a cell's column can be without breaking a word (a coloured cell is one word). */
function longestWord(text: string): number {
  return text !== stripVTControlCharacters(text) ? visible(text) : Math.max(1, ...words(text).map((w) => w.word.length));
}

/** Text in lines of at most `width`, broken between words; a word longer than the line is cut with "…". */
export function wrap(text: string, width: number): string[] {
  // Coloured cells are single words (a health, a status): never broken.
  if (visible(text) <= width || text !== stripVTControlCharacters(text)) return [text];
  const lines: string[] = [];
  let line = '';
  for (const { word, glued } of words(text)) {
    const fitted = word.length > width ? `${word.slice(0, Math.max(0, width - 1))}…` : word;
    const joined = line === '' ? fitted : glued ? `${line}${fitted}` : `${line} ${fitted}`;
    if (joined.length <= width) line = joined;
    else {
      lines.push(line);
      line = fitted;
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

/**
 * Column widths that fit `maxWidth` characters of box table: each column at its longest cell if that
 * fits; otherwise the widest columns give way first, down to their longest word (so wrapping never
 * splits one), and below that only when nothing else is left to give (the word is then cut with "…").
 */
export function fitWidths(cells: string[][], maxWidth: number | undefined): number[] {
  const columns = cells[0]?.length ?? 0;
  const natural = Array.from({ length: columns }, (_, i) => cells.reduce((w, row) => Math.max(w, visible(row[i] ?? '')), 0));
  const frame = 3 * columns + 1;
  if (maxWidth === undefined || natural.reduce((a, b) => a + b, 0) + frame <= maxWidth) return natural;
  const unbroken = Array.from({ length: columns }, (_, i) => cells.reduce((w, row) => Math.max(w, longestWord(row[i] ?? '')), 1));
  const widths = [...natural];
  let excess = widths.reduce((a, b) => a + b, 0) + frame - maxWidth;
  for (const floor of [unbroken, widths.map((w) => Math.min(w, 4))]) {
    while (excess > 0) {
      let widest = -1;
      for (let i = 0; i < columns; i++) if (widths[i]! > floor[i]! && (widest === -1 || widths[i]! > widths[widest]!)) widest = i;
      if (widest === -1) break;
      widths[widest]!--;
      excess--;
    }
  }
  return widths;
}

/** A box table; `maxWidth` (a terminal's columns) wraps cells to fit. The header goes through `style`. */
export function drawTable(head: string[], rows: string[][], align: Align[], style: (h: string) => string = (h) => h, maxWidth?: number): string {
  const widths = fitWidths([head, ...rows], maxWidth);
  const line = (l: string, m: string, r: string): string => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const pad = (text: string, i: number, shown = text): string => {
    const fill = ' '.repeat(Math.max(0, widths[i]! - visible(text)));
    return align[i] === 'right' ? fill + shown : shown + fill;
  };
  const out = [line('┌', '┬', '┐')];
  const push = (row: string[], header: boolean): void => {
    const wrapped = widths.map((w, i) => wrap(row[i] ?? '', w));
    const height = Math.max(...wrapped.map((lines) => lines.length));
    for (let l = 0; l < height; l++) {
      out.push(`│ ${wrapped.map((lines, i) => (header ? pad(lines[l] ?? '', i, style(lines[l] ?? '')) : pad(lines[l] ?? '', i))).join(' │ ')} │`);
    }
  };
  push(head, true);
  for (const row of rows) push(row, false);
  out.push(line('└', '┴', '┘'));
  return out.join('\n');
}

/** Plain aligned columns, two spaces apart, one line per row, no trailing blanks: for awk and grep. */
export function drawPlain(head: string[], rows: string[][], align: Align[]): string {
  const widths = fitWidths([head, ...rows], undefined);
  const last = widths.length - 1;
  return [head, ...rows]
    .map((row) =>
      widths
        .map((w, i) => {
          const text = row[i] ?? '';
          const fill = ' '.repeat(Math.max(0, w - visible(text)));
          return align[i] === 'right' ? fill + text : i === last ? text : text + fill;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
