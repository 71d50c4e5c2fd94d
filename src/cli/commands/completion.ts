// completion bash|zsh|fish: a shell completion script generated from the program's own commands and
// options (commander has none built in), so it never falls behind them.

import { StorageError } from '../../errors.js';
import type { Command } from '../commander.js';
import type { CommandContext } from '../context.js';
import type { Program } from '../program.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

interface OptionSpec {
  short: string | undefined;
  long: string | undefined;
  /** Takes a value (`--pool <name>`); a file for -c, -o and --output. */
  value: 'none' | 'file' | 'text';
  description: string;
}

interface CommandSpec {
  /** `pools status` for a subcommand. */
  path: string[];
  description: string;
  options: OptionSpec[];
  /** The command's own subcommands (pools → status). */
  subcommands: string[];
  /** Its arguments are files (put). */
  files: boolean;
}

const FILE_OPTIONS = new Set(['--config', '--output']);

function optionsOf(command: Command): OptionSpec[] {
  return command
    .createHelp()
    .visibleOptions(command)
    .map((o) => ({
      short: o.short,
      long: o.long,
      value: !(o.required || o.optional) ? 'none' : FILE_OPTIONS.has(o.long ?? '') ? 'file' : 'text',
      description: o.description,
    }));
}

/** Every command of the program, root first, with its options (the root's are the global ones). */
function describeProgram(root: Command): CommandSpec[] {
  const specs: CommandSpec[] = [];
  const walk = (command: Command, path: string[]): void => {
    const subcommands = command.commands.filter((c) => c.name() !== 'help');
    specs.push({
      path,
      description: command.description(),
      options: optionsOf(command),
      subcommands: subcommands.map((c) => c.name()),
      files: command.registeredArguments.some((a) => /file/.test(a.name())),
    });
    for (const sub of subcommands) walk(sub as Command, [...path, sub.name()]);
  };
  walk(root, []);
  return specs;
}

const flagsOf = (options: OptionSpec[]): string[] => options.flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined));

function bash(name: string, specs: CommandSpec[]): string {
  const fn = `_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
  const global = specs[0]!.options;
  const takesValue = specs.flatMap((s) => s.options).filter((o) => o.value !== 'none');
  const cases = specs.map((s) => {
    const flags = [...new Set([...flagsOf(s.options), ...(s.path.length > 0 ? flagsOf(global) : [])])];
    return `    "${s.path.join(' ')}") subcommands="${s.subcommands.join(' ')}" flags="${flags.join(' ')}" files=${s.files ? 1 : ''} ;;`;
  });
  const pattern = (options: OptionSpec[]): string => [...new Set(options.flatMap((o) => [o.short, o.long]).filter((f): f is string => f !== undefined))].join('|') || '--';
  return `# ${name} completion for bash. Load it with:  eval "$(${name} completion bash)"
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" i word subcommands="" flags="" files=""
  case "$prev" in
    ${pattern(takesValue.filter((o) => o.value === 'file'))}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${pattern(takesValue.filter((o) => o.value === 'text'))}) COMPREPLY=(); return ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$word" in
      ${pattern(takesValue)}) ((i++)) ;;
      -*) ;;
      *)
        case " $(${fn}_subcommands "$path") " in
          *" $word "*) path="\${path:+$path }$word" ;;
        esac ;;
    esac
  done
  case "$path" in
${cases.join('\n')}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [[ -n "$subcommands" ]]; then COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
  elif [[ -n "$files" ]]; then COMPREPLY=($(compgen -f -- "$cur"))
  else COMPREPLY=()
  fi
}
${fn}_subcommands() {
  case "$1" in
${specs.map((s) => `    "${s.path.join(' ')}") echo "${s.subcommands.join(' ')}" ;;`).join('\n')}
  esac
}
complete -o default -F ${fn} ${name}
`;
}

const zshQuote = (text: string): string => text.replace(/'/g, `'\\''`).replace(/([[\]:])/g, '\\$1');

function zshOption(o: OptionSpec): string {
  const value = o.value === 'file' ? ':file:_files' : o.value === 'text' ? ':value:' : '';
  const description = `[${zshQuote(o.description)}]`;
  if (o.short !== undefined && o.long !== undefined) return `'(${o.short} ${o.long})'{${o.short},${o.long}}'${description}${value}'`;
  return `'${o.short ?? o.long}${description}${value}'`;
}

function zsh(name: string, specs: CommandSpec[]): string {
  const fn = `_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
  const byPath = (path: string[]): CommandSpec => specs.find((s) => s.path.join(' ') === path.join(' '))!;
  const body = (spec: CommandSpec, depth: number): string => {
    const indent = '  '.repeat(depth + 1);
    const options = spec.options.map(zshOption).join(` \\\n${indent}  `);
    if (spec.subcommands.length === 0) {
      return `${indent}_arguments -s \\\n${indent}  ${options}${options === '' ? '' : ' \\\n' + indent + '  '}'*:${spec.files ? 'file:_files' : 'argument: '}'`;
    }
    const described = spec.subcommands.map((sub) => `'${sub}:${byPath([...spec.path, sub]).description.replace(/'/g, `'\\''`)}'`).join(' ');
    const cases = spec.subcommands
      .map((sub) => `${indent}    (${sub})\n${body(byPath([...spec.path, sub]), depth + 3)} ;;`)
      .join('\n');
    return `${indent}local -a subcommands=(${described})
${indent}_arguments -C \\
${indent}  ${options}${options === '' ? '' : ' \\\n' + indent + '  '}'1: :->command' \\
${indent}  '*:: :->args'
${indent}case $state in
${indent}  (command) _describe 'command' subcommands ;;
${indent}  (args)
${indent}  case $words[1] in
${cases}
${indent}  esac ;;
${indent}esac`;
  };
  return `#compdef ${name}
# ${name} completion for zsh. Load it with:  eval "$(${name} completion zsh)"  (after compinit)
${fn}() {
  local state
${body(specs[0]!, 0)}
}
compdef ${fn} ${name}
`;
}

const fishQuote = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function fish(name: string, specs: CommandSpec[]): string {
  const lines = [`# ${name} completion for fish. Load it with:  ${name} completion fish | source`, `complete -c ${name} -f`];
  const top = specs[0]!;
  const fishOption = (o: OptionSpec, condition: string | undefined): string =>
    [
      `complete -c ${name}`,
      condition === undefined ? '' : `-n ${fishQuote(condition)}`,
      o.short === undefined ? '' : `-s ${o.short.slice(1)}`,
      o.long === undefined ? '' : `-l ${o.long.slice(2)}`,
      o.value === 'file' ? '-r -F' : o.value === 'text' ? '-x' : '',
      `-d ${fishQuote(o.description)}`,
    ]
      .filter((part) => part !== '')
      .join(' ');
  for (const o of top.options) lines.push(fishOption(o, undefined));
  for (const spec of specs.slice(1)) {
    const parent = spec.path.slice(0, -1);
    const self = spec.path[spec.path.length - 1]!;
    const siblings = specs.find((s) => s.path.join(' ') === parent.join(' '))!.subcommands;
    const offer = parent.length === 0 ? `not __fish_seen_subcommand_from ${siblings.join(' ')}` : `__fish_seen_subcommand_from ${parent.join(' ')}; and not __fish_seen_subcommand_from ${siblings.join(' ')}`;
    lines.push(`complete -c ${name} -n ${fishQuote(offer)} -a ${self} -d ${fishQuote(spec.description)}`);
    const inside = `__fish_seen_subcommand_from ${self}`;
    for (const o of spec.options) if (o.long !== '--help') lines.push(fishOption(o, inside));
    if (spec.files) lines.push(`complete -c ${name} -n ${fishQuote(inside)} -F`);
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(root: Command, shell: Shell): string {
  const specs = describeProgram(root);
  return { bash, zsh, fish }[shell](root.name(), specs);
}

export function registerCompletion(program: Program): void {
  program.command
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', SHELLS.join(', '))
    .addHelpText(
      'after',
      `
Examples:
  eval "$(flux-storage completion bash)"     # in ~/.bashrc
  eval "$(flux-storage completion zsh)"      # in ~/.zshrc, after compinit
  flux-storage completion fish > ~/.config/fish/completions/flux-storage.fish`,
    )
    .action(
      program.action(async (ctx: CommandContext, shell: string) => {
        if (!(SHELLS as readonly string[]).includes(shell)) throw new StorageError('InvalidArgument', `unknown shell "${shell}": use ${SHELLS.join(', ')}`);
        const script = completionScript(program.command, shell as Shell);
        if (ctx.out.json) return ctx.out.printJson({ shell, script });
        ctx.out.print(script.trimEnd());
      }),
    );
}
