// commander, loaded with require() (see src/commonjs.ts): every command pays for it at start-up.

import { requireCommonJs } from '../commonjs.js';

const commander = requireCommonJs<typeof import('commander')>('commander');

export const Command = commander.Command;
export type Command = import('commander').Command;
export const CommanderError = commander.CommanderError;
export const InvalidArgumentError = commander.InvalidArgumentError;
