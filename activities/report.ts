/**
 * `writeReport`: the successor of ossimport's audit.log and error.list. Writes, under
 * `<reportDir>/<job>/<runTag>/`: `report.json` (summary), `failures.jsonl` (every failed object: key, size,
 * error class, message, task) and `summary.txt` (human-readable). Returns the folder.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { ReportInput, ReportResult } from '../common/contracts';
import type { ActivityContext } from './context';
import { collectFailures, jobReportRoot, runReportDir } from './failures';
import { formatBytes, formatDuration } from '../common/units';
import { emptyVerifiedBy, formatVerifiedBy } from '../common/progress';
import { reportDeletions } from './mirror-log';
import { mirrorLine } from '../workflows/mirror-state';
import { archiveLine } from '../workflows/restore-wait-state';
import { archiveReport } from './archive-report';
import { writeVersionMap } from './version-map';

export async function writeReport(ctx: ActivityContext, input: ReportInput): Promise<ReportResult> {
  const reportDir = jobReportRoot(ctx.reportDir, input.job);
  const dir = runReportDir(reportDir, input.job.name, input.runTag);
  await fsp.mkdir(dir, { recursive: true });
  const archived = await archiveReport(dir);
  const failures = [...(await collectFailures(reportDir, input.job.name, input.runTag, input.lastRoundOfTask)), ...archived.failures];
  // `versions: all`: the batches' version maps merged into versions.jsonl (objects count versions).
  const versionsMapped = input.job.versions === 'all' ? await writeVersionMap(dir) : undefined;
  const durationMs = Math.max(1, input.finishedAt - input.startedAt);
  const o = input.objects;
  const total = o.copied + o.skipped + o.failed;
  const unfinished = input.unfinishedTasks ?? [];
  const deletions = input.mirror ? await reportDeletions(dir, input.mirror.stage === 'awaiting-approval') : undefined;
  const status = input.error ? 'failed' : o.failed > 0 || failures.length > 0 || unfinished.length > 0 || (input.mirror?.failed ?? 0) > 0 ? 'completed-with-failures' : 'succeeded';
  const summary = {
    job: input.job.name,
    workflowId: input.workflowId,
    mode: input.job.mode,
    status,
    error: input.error,
    source: { ...input.job.source },
    destination: { ...input.job.destination },
    startedAt: new Date(input.startedAt).toISOString(),
    finishedAt: new Date(input.finishedAt).toISOString(),
    durationMs,
    rounds: input.rounds,
    objects: { total, ...o },
    verifiedBy: { ...emptyVerifiedBy(), ...input.verifiedBy },
    bytes: { total: input.bytes.copied + input.bytes.skipped + input.bytes.failed, ...input.bytes },
    throughput: { bytesPerSec: Math.round((input.bytes.copied / durationMs) * 1000), objectsPerSec: Math.round((o.copied / durationMs) * 1000 * 100) / 100 },
    failures: failures.length,
    unfinishedTasks: unfinished,
    ...(versionsMapped !== undefined ? { versions: { mapped: versionsMapped, file: 'versions.jsonl' } } : {}),
    ...(input.archive ? { archive: { ...input.archive, ...(archived.skipped.length ? { skippedFile: 'skipped.jsonl' } : {}) } } : {}),
    ...(input.mirror ? { mirror: { ...input.mirror, ...(deletions ? { deletionsFile: 'deletions.jsonl', byStatus: deletions } : {}) } } : {}),
  };
  await fsp.writeFile(join(dir, 'failures.jsonl'), failures.map(({ key, size, errorClass, message, task }) => JSON.stringify({ key, size, errorClass, message, task })).join('\n') + (failures.length ? '\n' : ''));
  if (archived.skipped.length) await fsp.writeFile(join(dir, 'skipped.jsonl'), archived.skipped.map((s) => `${JSON.stringify(s)}\n`).join(''));
  await fsp.writeFile(join(dir, 'report.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const lines = [
    `Ferry report — job ${input.job.name} (${input.job.mode})`,
    `status:    ${status}${input.error ? ` — ${input.error}` : ''}`,
    `started:   ${summary.startedAt}   duration: ${formatDuration(durationMs)}   rounds: ${input.rounds}`,
    `objects:   ${total} total, ${o.copied} copied, ${o.skipped} skipped, ${o.failed} failed, ${o.verified} verified, ${o.excluded} excluded by filter`,
    `verified by: ${formatVerifiedBy(input.verifiedBy)} (objects per check; \`size\` alone compares no checksum)`,
    `bytes:     ${formatBytes(input.bytes.copied)} copied, ${formatBytes(input.bytes.skipped)} skipped, ${formatBytes(input.bytes.failed)} failed`,
    `rate:      ${formatBytes(summary.throughput.bytesPerSec)}/s, ${summary.throughput.objectsPerSec} objects/s`,
    `failures:  ${failures.length}${failures.length ? ` (see failures.jsonl)` : ''}`,
    ...failures.slice(0, 20).map((f) => `  ${f.errorClass}  ${JSON.stringify(f.key)} (${f.size} B): ${f.message}`),
    ...(failures.length > 20 ? [`  … ${failures.length - 20} more in failures.jsonl`] : []),
    ...(versionsMapped !== undefined ? [`versions:  every version of each key (objects count versions); ${versionsMapped} mapped to their destination versions in versions.jsonl`] : []),
    ...(input.archive ? [`${archiveLine(input.archive)}${archived.skipped.length ? ' (every skipped key: skipped.jsonl)' : ''}`] : []),
    ...(unfinished.length ? [`unfinished tasks: ${unfinished.length} (their objects were not all tried; \`ferry retry\` runs them again)`] : []),
    ...(input.mirror ? [`mirror:    ${mirrorLine(input.mirror)}${deletions ? ' (every key: deletions.jsonl)' : ''}`] : []),
    ...unfinished.map((t) => `  task ${t.task}: keys after ${JSON.stringify(t.range.startAfter ?? '')} up to ${JSON.stringify(t.range.last)} (${t.objects} objects, ${formatBytes(t.bytes)}): ${t.error}`),
  ];
  await fsp.writeFile(join(dir, 'summary.txt'), `${lines.join('\n')}\n`);
  return { path: dir, failures: failures.length };
}
