/**
 * {@link convertOssimport}: an ossimport 2.3.x configuration → a Ferry job file plus a separate credentials
 * file, following the mapping table of `shared/reference/ossimport.md` §8 (see mapping.ts). Every key is either
 * mapped (and named in a comment next to the Ferry field) or listed with the reason it is not carried. Secrets
 * (`srcAccessKey`, `srcSecretKey`, `destAccessKey`, `destSecretKey`, `workerPassword`) go only to the
 * credentials file: never to the job file, stdout or `--json`.
 */
import { parseJob, type JobFile } from '../../common/job';
import { InvalidConfigError } from '../../common/errors';
import { formatDuration } from '../../common/units';
import { Conversion, type ConversionResult, type ConvertInput, type JobDraft, type Section } from './conversion';
import { applyMapping } from './mapping';
import { jobFileHeader, renderCredentialsYaml, renderJobYaml } from './render';

const hasFields = (section: Section) => Object.keys(section).length > 0;

/** The job document in the job file's field order; empty sections and defaults are left out. */
function assembleJob(draft: JobDraft): Record<string, unknown> {
  const doc: Record<string, unknown> = { name: draft.name };
  if (draft.mode === 'verify') doc.mode = 'verify';
  doc.source = draft.source;
  doc.destination = draft.destination;
  if (hasFields(draft.filter)) doc.filter = draft.filter;
  if (draft.overwrite) doc.overwrite = draft.overwrite;
  if (draft.verify) doc.verify = draft.verify;
  if (hasFields(draft.tasks)) doc.tasks = draft.tasks;
  if (hasFields(draft.concurrency)) doc.concurrency = draft.concurrency;
  if (hasFields(draft.multipart)) doc.multipart = draft.multipart;
  if (hasFields(draft.throttle)) doc.throttle = draft.throttle;
  return doc;
}

/** Throws every problem at once; the job is also checked as `ferry run` would check it, once the keys are clean. */
function failOnIssues(c: Conversion, doc: Record<string, unknown>): void {
  if (!c.issues.length) {
    try {
      parseJob(doc);
    } catch (e) {
      if (e instanceof InvalidConfigError) c.issues.push(...e.issues.map((i) => `(converted job) ${i}`));
      else throw e;
    }
  }
  if (c.issues.length) throw new InvalidConfigError(c.issues, `cannot convert ${c.cfgName}${c.sys ? ` + ${c.sysName}` : ''}:\n  ${c.issues.join('\n  ')}`);
}

function nextStepsFor(c: Conversion, jobFile: string, credentialsFile: string | undefined): string[] {
  const credFlag = credentialsFile ? ` --credentials ${credentialsFile}` : '';
  if (c.draft.mode === 'verify') return [`ferry verify ${jobFile}${credFlag}`];
  const steps = [`ferry plan ${jobFile}${credFlag}`, `ferry run ${jobFile}${credFlag}`];
  if (c.incrementalEvery !== undefined) steps.push(`ferry schedule ${jobFile} --every ${formatDuration(c.incrementalEvery * 1000)}   # then run \`ferry worker${credFlag}\``);
  return steps;
}

/**
 * Converts an ossimport configuration. Pure: no I/O. Throws InvalidConfigError listing every problem at once
 * (as `key: message`, naming the ossimport key, its value when not secret, and the fix).
 */
export function convertOssimport(input: ConvertInput): ConversionResult {
  const c = new Conversion(input);
  applyMapping(c);
  const doc = assembleJob(c.draft);
  failOnIssues(c, doc);

  const { name } = c.draft;
  const jobFile = `${name}.yaml`;
  const credentialsFile = c.keysUsed ? `${name}.credentials.yaml` : undefined;
  const nextSteps = nextStepsFor(c, jobFile, credentialsFile);
  const sources = [c.cfgName, c.sys ? c.sysName : undefined].filter((f): f is string => !!f);
  return {
    name,
    job: doc as JobFile,
    jobYaml: renderJobYaml(doc, c.comments, jobFileHeader(sources, credentialsFile, nextSteps[0])),
    credentials: c.credentials,
    credentialsYaml: credentialsFile ? renderCredentialsYaml(c.credentials, c.cfgName, jobFile, credentialsFile) : undefined,
    mapped: c.mapped,
    notes: c.notes,
    nextSteps,
    listRewrite: c.listRewrite,
  };
}
