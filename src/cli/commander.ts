// commander, loaded with require() (see src/commonjs.ts): every command pays for it at start-up.
// Our Command differs in one thing: what it suggests for an unknown option (see suggestOption), and
// aliasOption gives an option the name another tool uses for it.

import { requireCommonJs } from '../commonjs.js';

const commander = requireCommonJs<typeof import('commander')>('commander');

export const CommanderError = commander.CommanderError;
export const InvalidArgumentError = commander.InvalidArgumentError;

/**
 * Options of peer tools (rclone, the AWS CLI) that have no equivalent here, with what to use instead.
 * Their nearest spelling among our options means something else (rclone's --checkers is not
 * --checksum; --max-age selects what --min-age protects), so a plain suggestion would mislead.
 */
const FOREIGN_OPTIONS: Readonly<Record<string, string>> = {
  '--checkers': "rclone's --checkers has no equivalent: --concurrency (or --transfers) sets how many objects are copied and checked at once",
  '--max-age': 'there is no --max-age: --min-age <duration> protects segments newer than that from deletion, and --older-than <duration> deletes only older ones',
};

/** Words whose swap turns an option into its opposite: never suggested for each other. */
const OPPOSITES: readonly (readonly [string, string])[] = [
  ['min', 'max'],
  ['from', 'to'],
  ['keep', 'delete'],
  ['include', 'exclude'],
  ['older', 'newer'],
  ['first', 'last'],
  ['before', 'after'],
  ['no', 'yes'],
];

/** Optimal string alignment distance (Levenshtein with adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

function opposite(a: string, b: string): boolean {
  const wordsA = a.replace(/^-+/, '').split('-');
  const wordsB = b.replace(/^-+/, '').split('-');
  return OPPOSITES.some(([x, y]) => (wordsA.includes(x) && wordsB.includes(y)) || (wordsA.includes(y) && wordsB.includes(x)));
}

/**
 * The options an unknown `flag` was probably meant to be: a typo of one (at most 1 edit for names up
 * to 4 letters, 2 for longer ones), never one of opposite meaning. None rather than a guess.
 */
export function suggestOption(flag: string, candidates: readonly string[]): string[] {
  const name = flag.replace(/^-+/, '').split('=')[0]!;
  const limit = name.length <= 4 ? 1 : 2;
  const scored = [...new Set(candidates)]
    .filter((candidate) => !opposite(flag, candidate))
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate.replace(/^-+/, '')) }))
    .filter((s) => s.distance <= limit);
  const best = Math.min(...scored.map((s) => s.distance));
  return scored.filter((s) => s.distance === best).map((s) => s.candidate);
}

export class Command extends commander.Command {
  override createCommand(name?: string): Command {
    return new Command(name);
  }

  /** Replaces commander's own (an internal method it calls for every unknown option). */
  unknownOption(flag: string): never {
    const candidates: string[] = [];
    for (let command: Command | null = this; command !== null; command = command.parent as Command | null) {
      for (const option of command.createHelp().visibleOptions(command)) if (option.long !== undefined) candidates.push(option.long);
    }
    const name = flag.split('=')[0]!;
    const foreign = FOREIGN_OPTIONS[name];
    const suggestions = flag.startsWith('--') ? suggestOption(name, candidates) : [];
    const hint = foreign !== undefined ? ` (${foreign})` : suggestions.length === 0 ? '' : `\n(Did you mean ${suggestions.join(' or ')}?)`;
    this.error(`error: unknown option '${flag}'${hint}`, { code: 'commander.unknownOption', exitCode: 1 });
  }
}

/**
 * Gives the option `target` (a long flag such as `--dry-run`) another name: a short flag (`-n`)
 * becomes its short form; a long one (`--transfers`) a hidden option that sets the same value.
 * The help of `target` names the alias.
 */
export function aliasOption(command: Command, alias: string, target: string): void {
  const option = command.options.find((o) => o.long === target);
  if (option === undefined) throw new Error(`${command.name()} has no option ${target} to alias as ${alias}`);
  if (!alias.startsWith('--')) {
    if (option.short !== undefined) throw new Error(`${target} of ${command.name()} already has the short flag ${option.short}`);
    option.short = alias;
    option.flags = `${alias}, ${option.flags}`;
    return;
  }
  const value = /\s[<[][^>\]]*[>\]]$/.exec(option.flags)?.[0] ?? '';
  const hidden = new commander.Option(`${alias}${value}`).hideHelp();
  if (option.parseArg !== undefined) hidden.argParser(option.parseArg);
  command.addOption(hidden);
  command.on(`option:${hidden.name()}`, () => command.setOptionValueWithSource(option.attributeName(), command.getOptionValue(hidden.attributeName()), 'cli'));
  option.description = `${option.description} (alias ${alias})`;
}
