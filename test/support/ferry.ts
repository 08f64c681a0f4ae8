/**
 * Running Ferry in tests: in-process workers and worker processes (for SIGKILL tests) against a test Temporal
 * server, starting jobs, and proving a destination is byte-identical to its source.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { createFerryWorker } from '../../workers/worker';
import { installRuntime } from '../../workers/main';
import type { ActivityDeps } from '../../activities/context';
import type { ObjectProvider, ObjectInfo } from '../../storage/provider';
import { parseJob, jobWorkflowId, type JobSpec } from '../../common/job';
import { FerryJob, FerryPhase } from '../../common/search-attributes';
import type { JobResult } from '../../common/progress';
import { mapKey } from '../../common/keys';
import { spawnManaged, tempDir, type ManagedProcess } from './process';
import type { TemporalTestServer } from './temporal';

export const REPO_ROOT = join(__dirname, '..', '..');

export interface InProcessWorker {
  worker: Worker;
  running: Promise<void>;
  stop(): Promise<void>;
}

/** Starts a worker in this process. `deps` can replace providers (synthetic sources) or the report dir. */
export async function startWorker(
  server: TemporalTestServer,
  opts: { env?: NodeJS.ProcessEnv; reportDir?: string; deps?: Partial<ActivityDeps>; taskQueue?: string; identity?: string } = {},
): Promise<InProcessWorker> {
  installRuntime();
  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await createFerryWorker({
    connection,
    namespace: server.namespace,
    taskQueue: opts.taskQueue,
    env: opts.env,
    reportDir: opts.reportDir ?? tempDir('reports'),
    client: await server.client(),
    deps: { controlIntervalMs: 500, ...opts.deps },
    identity: opts.identity,
    shutdownGraceTime: '2s',
  });
  const running = worker.run();
  return {
    worker,
    running,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}

/** Starts `workers/main.ts` as a separate process (so tests can SIGKILL it). */
export function spawnWorkerProcess(server: TemporalTestServer, env: NodeJS.ProcessEnv, name = 'worker'): ManagedProcess {
  return spawnManaged({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', join(REPO_ROOT, 'workers', 'main.ts')],
    cwd: REPO_ROOT,
    env: { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: server.namespace, FERRY_LOG_LEVEL: 'WARN', ...env },
  });
}

/** Validates a job document and starts it, the way `ferry start` does. */
export async function startJob(client: Client, doc: unknown, taskQueue = 'ferry'): Promise<WorkflowHandle> {
  const spec: JobSpec = parseJob(doc);
  return client.workflow.start('migrationJob', {
    taskQueue,
    workflowId: jobWorkflowId(spec.name),
    args: [spec],
    typedSearchAttributes: [
      { key: FerryJob, value: spec.name },
      { key: FerryPhase, value: 'preflight' },
    ],
    staticSummary: `${spec.source.type} → ${spec.destination.type}: ${spec.name}`,
  });
}

/** Starts a job and waits for its result. */
export async function runJob(client: Client, doc: unknown): Promise<JobResult> {
  return (await startJob(client, doc)).result() as Promise<JobResult>;
}

async function md5Of(p: ObjectProvider, key: string): Promise<string> {
  const h = createHash('md5');
  for await (const c of (await p.get(key)).body) h.update(c as Buffer);
  return h.digest('hex');
}

export async function listAllObjects(p: ObjectProvider, prefix?: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await p.list({ prefix, startAfter, limit: 1000 });
    out.push(...page.objects);
    if (!page.next) return out;
    startAfter = page.next;
  }
}

/**
 * Asserts every source object (under `srcPrefix`) exists at the destination (under `dstPrefix`) with the same
 * bytes, and returns how many were compared. `contentCheck` = compare MD5s of every object (else sizes, plus MD5
 * of every object up to `sampleLimit`).
 */
export async function assertSameTree(
  src: ObjectProvider,
  dst: ObjectProvider,
  opts: { srcPrefix?: string; dstPrefix?: string; exclude?: (key: string) => boolean; concurrency?: number } = {},
): Promise<number> {
  const srcObjs = (await listAllObjects(src, opts.srcPrefix)).filter((o) => !opts.exclude?.(o.key));
  const dstObjs = new Map((await listAllObjects(dst, opts.dstPrefix)).map((o) => [o.key, o]));
  const missing = srcObjs.filter((o) => !dstObjs.has(mapKey(o.key, opts.srcPrefix, opts.dstPrefix)));
  assert.deepEqual(missing.map((o) => o.key).slice(0, 20), [], `${missing.length} objects missing at the destination`);
  let i = 0;
  const mismatched: string[] = [];
  const lane = async () => {
    while (i < srcObjs.length) {
      const o = srcObjs[i++]!;
      const dk = mapKey(o.key, opts.srcPrefix, opts.dstPrefix);
      if (dstObjs.get(dk)!.size !== o.size || (await md5Of(src, o.key)) !== (await md5Of(dst, dk))) mismatched.push(o.key);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 16 }, lane));
  assert.deepEqual(mismatched.slice(0, 20), [], `${mismatched.length} objects differ`);
  return srcObjs.length;
}

/** Sum of history events over a job's workflows (all runs of the job, every task child). */
export async function historyEvents(client: Client, jobName: string): Promise<{ job: number; jobRuns: number; tasks: number; maxPerRun: number }> {
  let job = 0;
  let jobRuns = 0;
  let tasks = 0;
  let maxPerRun = 0;
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${jobWorkflowId(jobName)}' OR WorkflowId STARTS_WITH '${jobWorkflowId(jobName)}/'` })) {
    const h = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const n = h.events?.length ?? 0;
    if (wf.workflowId === jobWorkflowId(jobName)) {
      job += n;
      jobRuns++;
      maxPerRun = Math.max(maxPerRun, n);
    } else tasks += n;
  }
  return { job, jobRuns, tasks, maxPerRun };
}
