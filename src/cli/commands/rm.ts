// rm <stream> <id...>: removes each segment from every pool holding it (or from --pool alone).

import { isStorageError } from '../../errors.js';
import { assertStreamName, parseSegmentId } from '../../segments/layout.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { countOf } from '../output.js';
import type { Program } from '../program.js';

async function rm(ctx: CommandContext, stream: string, idTexts: string[], options: { pool?: string }): Promise<void> {
  assertStreamName(stream);
  const ids = idTexts.map(parseSegmentId);
  const storage = await ctx.storage({ pool: options.pool });
  const removed: { id: number; key: string; deletedFrom: string[] }[] = [];
  const notFound: number[] = [];
  const failed: { id: number; error: unknown }[] = [];
  for (const id of ids) {
    try {
      removed.push({ id, ...(await storage.delete(stream, id, options)) });
    } catch (error) {
      if (isStorageError(error, 'NotFound')) {
        notFound.push(id);
        ctx.fail(EXIT.notFound);
      } else {
        failed.push({ id, error });
        ctx.fail(EXIT.failed);
      }
    }
  }
  ctx.out.errorsByCause(failed.map((f) => ({ item: `${f.id}`, error: f.error })), (count, pool) => `${countOf(count, 'segment')} of ${stream} not deleted${pool === undefined ? '' : ` from ${pool}`}`);
  if (ctx.out.json) return ctx.out.printJson({ stream, removed, notFound, failed });
  if (!ctx.out.quiet) for (const r of removed) ctx.out.print(`removed segment ${r.id} from ${r.deletedFrom.join(', ')}`);
  for (const id of notFound) ctx.out.error(`segment ${id} of ${stream}: no pool holds it`);
}

export function registerRm(program: Program): void {
  program.command
    .command('rm')
    .description('delete segments from every pool that holds them')
    .argument('<stream>', 'stream name')
    .argument('<id...>', 'segment ids')
    .option('--pool <name>', 'delete from this pool only')
    .addHelpText('after', '\nExamples:\n  flux-storage rm cam1 41 42\n  flux-storage rm cam1 42 --pool s3')
    .action(program.action(rm));
}
