/**
 * {@link importOssimport}: the file side of the conversion. Reads job.cfg and sys.properties, refuses to
 * overwrite without `force`, rewrites an http list into Ferry's column order, and writes the job file and the
 * credentials file (mode 0600).
 */
import { closeSync, createReadStream, createWriteStream, existsSync, chmodSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { InvalidConfigError, errorMessage } from '../../common/errors';
import { UsageError } from '../errors';
import type { ConversionResult, ListRewrite } from './conversion';
import { convertOssimport } from './convert';

export interface ImportOptions {
  jobCfg: string;
  sysProperties?: string;
  name?: string;
  outDir?: string;
  force?: boolean;
}

export interface ImportResult {
  conversion: ConversionResult;
  files: { job: string; credentials?: string; list?: string };
}

function readConfig(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${errorMessage(e)}`, 'import-ossimport');
  }
}

/** Writes a file that must not be readable by others, also when it already existed. */
function writePrivate(path: string, text: string): void {
  if (existsSync(path)) chmodSync(path, 0o600);
  const fd = openSync(path, 'w', 0o600);
  try {
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, 0o600);
}

/** Rewrites an ossimport http list into Ferry's "prefix key" column order, keeping line numbers. */
async function rewriteList(r: ListRewrite): Promise<void> {
  const input = createReadStream(r.from, { encoding: 'utf8' });
  const out = createWriteStream(r.to, { encoding: 'utf8' });
  try {
    const rl = createInterface({ input, crlfDelay: Infinity });
    for await (const line of rl) {
      const t = line.trim();
      let outLine = line;
      if (t && !t.startsWith('#')) {
        const cols = t.split(/\s+/);
        const p = cols[r.prefixColumn - 1];
        const k = cols[r.relativeColumn - 1];
        // A line without both columns is copied as is: Ferry reports it as a failure with its line number.
        if (p !== undefined && k !== undefined) outLine = `${p}\t${k}`;
      }
      if (!out.write(`${outLine}\n`)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
}

/** The files a conversion writes; throws UsageError when any exists and `force` is not set. */
function plannedFiles(conversion: ConversionResult, outDir: string, force: boolean | undefined): ImportResult['files'] {
  const files: ImportResult['files'] = { job: join(outDir, `${conversion.name}.yaml`) };
  if (conversion.credentialsYaml) files.credentials = join(outDir, `${conversion.name}.credentials.yaml`);
  if (conversion.listRewrite) files.list = conversion.listRewrite.to;
  if (!existsSync(outDir)) throw new UsageError(`output directory ${outDir} does not exist (--out)`, 'import-ossimport');
  if (!force) {
    const existing = Object.values(files).filter((f): f is string => !!f && existsSync(f));
    if (existing.length) throw new UsageError(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}: pass --force to overwrite, --out DIR or --name NAME`, 'import-ossimport');
  }
  return files;
}

/** The command: reads the files, converts, refuses to overwrite without `force`, writes job + credentials. */
export async function importOssimport(opts: ImportOptions): Promise<ImportResult> {
  const outDir = resolve(opts.outDir ?? '.');
  const conversion = convertOssimport({
    jobCfg: readConfig(opts.jobCfg, 'ossimport job config'),
    jobCfgName: basename(opts.jobCfg),
    sysProperties: opts.sysProperties ? readConfig(opts.sysProperties, 'ossimport sys.properties') : undefined,
    sysPropertiesName: opts.sysProperties ? basename(opts.sysProperties) : undefined,
    name: opts.name,
    outDir,
  });
  const files = plannedFiles(conversion, outDir, opts.force);
  if (conversion.listRewrite) {
    try {
      await rewriteList(conversion.listRewrite);
    } catch (e) {
      throw new InvalidConfigError([
        `httpListFilePath: cannot read ${conversion.listRewrite.from} to put its columns in Ferry's order (${errorMessage(e)}) — run the import where the list is readable, or reorder it to "prefix key" and set httpPrefixColumn=1, relativePathColumn=2`,
      ]);
    }
  }
  writeFileSync(files.job, conversion.jobYaml);
  if (files.credentials && conversion.credentialsYaml) writePrivate(files.credentials, conversion.credentialsYaml);
  return { conversion, files };
}
