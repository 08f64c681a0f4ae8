/**
 * Help text: `ferry --help` (the command list) and `ferry <command> --help` (usage, description, options, examples),
 * rendered from the command table and the option catalogue.
 */
import { OPTIONS, type CommandSpec, type OptionKey, type OptionSpec } from './options';

/** `ferry --help`: every command of the table with its summary, exit codes and environment. */
export function formatGeneralHelp(commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'ferry — durable object-storage migration (OSS, S3, filesystems, HTTP lists) on Temporal',
    '',
    'Usage: ferry <command> [options]      ferry <command> --help',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Exit codes: 0 every object copied and verified · 1 finished with failures (see the report) ·',
    '            2 bad usage or invalid job file · 3 could not run (credentials, bucket, server) · 130 interrupted',
    'Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, FERRY_HOME (~/.ferry), FERRY_CREDENTIALS_FILE,',
    '             FERRY_CREDENTIALS_<PROFILE>_ACCESS_KEY_ID / _SECRET_ACCESS_KEY / _SESSION_TOKEN, FERRY_DEBUG=1 (stack traces)',
  ].join('\n');
}

/** `ferry <command> --help`: usage, wrapped description, the command's options (and --help), examples. */
export function formatCommandHelp(spec: CommandSpec): string {
  const opts = ['help' as OptionKey, ...spec.options].map((k) => OPTIONS[k]);
  const label = (o: OptionSpec) => `${o.short ? `-${o.short}, ` : '    '}--${o.flag}${o.value ? ` ${o.value}` : ''}`;
  const width = Math.max(...opts.map((o) => label(o).length));
  return [
    `Usage: ${spec.usage}`,
    '',
    wrap(spec.description, 100),
    '',
    'Options:',
    ...opts.map((o) => `  ${label(o).padEnd(width)}  ${o.help}`),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
  ].join('\n');
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
