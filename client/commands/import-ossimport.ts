/**
 * `ferry import-ossimport job.cfg [sys.properties]`: writes a Ferry job file and a credentials file converted
 * from an ossimport configuration (see client/ossimport/), then prints what was mapped and what was not.
 */
import type { CliOptions } from '../cli';
import type { Io } from '../io';
import { importOssimport, renderConversion } from '../ossimport';

/** The `ferry import-ossimport` command. */
export async function importOssimportCommand(opts: CliOptions, io: Io): Promise<number> {
  const res = await importOssimport({ jobCfg: opts.jobCfg!, sysProperties: opts.sysProperties, name: opts.name, outDir: opts.out, force: opts.force });
  const c = res.conversion;
  if (opts.json) {
    // Everything but the secrets: profile names only.
    io.out(JSON.stringify({ name: c.name, files: res.files, profiles: Object.keys(c.credentials), job: c.job, mapped: c.mapped, notes: c.notes, nextSteps: c.nextSteps }, null, 2));
  } else io.out(renderConversion(c, res.files));
  return 0;
}
