/**
 * Reading job files (YAML or JSON) for the CLI: syntax errors with line and column, then `parseJob`'s
 * validation (every problem at once). Both end in InvalidConfigError (exit 2); an unreadable file is a
 * UsageError (exit 2).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { parseJob, type JobMode, type JobSpec } from '../common/job';
import { InvalidConfigError, errorMessage } from '../common/errors';
import { UsageError } from './errors';

/** YAML/JSON text as data; syntax errors with line and column as an InvalidConfigError (`what`: "job file", "price file"). */
export function parseYamlText(text: string, file: string, what: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const issues = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
    });
    throw new InvalidConfigError(issues, `invalid ${what} ${file} (YAML/JSON syntax):\n  ${issues.join('\n  ')}`);
  }
  return doc.toJS();
}

/** Parses job-file text. `file` names the file in messages. Throws InvalidConfigError with every problem. */
export function parseJobText(text: string, file: string, override: { mode?: JobMode } = {}): JobSpec {
  const data = parseYamlText(text, file, 'job file');
  const withMode = override.mode && data && typeof data === 'object' && !Array.isArray(data) ? { ...(data as Record<string, unknown>), mode: override.mode } : data;
  try {
    return parseJob(withMode);
  } catch (e) {
    if (e instanceof InvalidConfigError) throw new InvalidConfigError(e.issues, `invalid job file ${file}:\n  ${e.issues.join('\n  ')}`);
    throw e;
  }
}

/** Reads and validates a job file. */
export function readJobFile(path: string, override: { mode?: JobMode } = {}): JobSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read job file ${path}: ${errorMessage(e)}`);
  }
  return parseJobText(text, path, override);
}

/** A job name as the job file schema accepts it (it becomes the workflow id `ferry-<name>`). */
export const JOB_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

/** A JOB argument: a job file (path) or a job name. */
export type JobRef = { kind: 'file'; path: string } | { kind: 'name'; name: string };

/** Files are recognised by extension or an existing path; anything else must be a valid job name. */
export function jobRef(arg: string, command: string): JobRef {
  if (/\.(ya?ml|json)$/i.test(arg) || arg.includes('/') || (existsSync(arg) && !JOB_NAME_RE.test(arg))) return { kind: 'file', path: arg };
  if (!JOB_NAME_RE.test(arg)) throw new UsageError(`${JSON.stringify(arg)} is neither a job file (.yaml/.yml/.json) nor a job name (letters, digits, . _ -)`, command);
  return { kind: 'name', name: arg };
}

/** The job name a JOB argument means (a job file is read and validated for its `name`). */
export function jobNameOf(arg: string, command: string): string {
  const ref = jobRef(arg, command);
  return ref.kind === 'name' ? ref.name : readJobFile(ref.path).name;
}
