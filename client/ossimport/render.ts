/**
 * Text the conversion produces: the YAML job file with a comment on every field naming the ossimport setting
 * it came from, the credentials file, and the report the command prints. None of them echoes a secret except
 * the credentials file.
 */
import { Document, isPair, isScalar, type YAMLMap } from 'yaml';
import type { ConversionResult, Credentials, NoteLevel } from './conversion';

/** The comment block above the job: where it came from, where its secrets are, what to run next. */
export function jobFileHeader(sources: string[], credentialsFile: string | undefined, nextStep: string | undefined): string {
  return [
    ` Ferry job converted by \`ferry import-ossimport\` from ${sources.join(' + ')}.`,
    ` Comments name the ossimport setting each field came from. Secrets are not here: ${credentialsFile ? `they are in ${credentialsFile}` : 'the job uses the worker\'s default credentials'}.`,
    ` Next: ${nextStep}`,
  ].join('\n');
}

/** The job file; `comments` maps a field path (`source.bucket`) to the comment written after its value. */
export function renderJobYaml(doc: Record<string, unknown>, comments: Map<string, string>, header: string): string {
  const d = new Document(doc);
  d.commentBefore = header;
  for (const [path, comment] of comments) {
    const parts = path.split('.');
    const parent = parts.length > 1 ? (d.getIn(parts.slice(0, -1), true) as YAMLMap | undefined) : (d.contents as YAMLMap);
    const pair = parent?.items?.find((p) => isPair(p) && isScalar(p.key) && p.key.value === parts[parts.length - 1]);
    if (pair && isPair(pair) && isScalar(pair.value)) pair.value.comment = ` ${comment}`;
  }
  return d.toString({ lineWidth: 0 });
}

export function renderCredentialsYaml(creds: Credentials, cfgName: string, jobFile: string, credFile: string): string {
  const d = new Document(creds);
  d.commentBefore = ` Ferry credentials converted from ossimport ${cfgName}. Keep this file private (mode 0600); never commit it.\n Used by: ferry run ${jobFile} --credentials ${credFile}  (or FERRY_CREDENTIALS_FILE on every worker)`;
  return d.toString({ lineWidth: 0 });
}

/** Text of the conversion report printed by the command (no secrets). */
export function renderConversion(res: ConversionResult, files: { job: string; credentials?: string; list?: string }): string {
  const lines: string[] = [];
  lines.push(`Wrote ${files.job} (job "${res.name}")`);
  if (files.credentials) lines.push(`Wrote ${files.credentials} (credentials, mode 0600: profiles ${Object.keys(res.credentials).join(', ')})`);
  if (files.list) lines.push(`Wrote ${files.list} (URL list in Ferry's column order)`);
  lines.push(`Mapped ${new Set(res.mapped.map((m) => m.key)).size} ossimport keys.`);
  if (res.notes.length) {
    lines.push('Not carried or needing attention:');
    const order = (l: NoteLevel) => (l === 'warn' ? 0 : 1);
    for (const n of [...res.notes].sort((a, b) => order(a.level) - order(b.level))) lines.push(`  ${n.level.padEnd(4)}  ${n.key}: ${n.message}`);
  }
  lines.push('Next:');
  for (const s of res.nextSteps) lines.push(`  ${s}`);
  return lines.join('\n');
}
