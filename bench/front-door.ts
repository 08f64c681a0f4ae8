/**
 * Bench cases g and h, timed as a user meets Ferry: whole `bin/ferry run job.yaml` processes against a warm
 * embedded server (left running with `--keep-server`), alternated with `rclone copy` at the same concurrency (g),
 * and a one-object `ferry run --no-worker` while a `ferry worker` process is already polling (h).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3TestServer } from '../test/support/s3-servers';
import { REPO_ROOT } from '../test/support/ferry';
import { freePort, tempDir } from '../test/support/process';
import { countObjects, fillBucket } from './fixtures';
import { timedProcess } from './measure';
import { toolFigures, type CaseResult, type RunFigures, type Target } from './report';

export interface FrontDoorContext {
  minio: S3TestServer;
  vgw: S3TestServer;
  rclone: string;
  rcloneEnv: Record<string, string>;
  rcloneFlags: (concurrency: number) => string[];
  repeats: number;
  want: (id: string) => boolean;
  log: (line: string) => void;
}

const OBJECT_SIZE = 16 * 1024;
const CONCURRENCY = 32;
const SOURCE_BUCKET = 'front';
const DESTINATION_BUCKET = 'front-dst';
const FERRY = join(REPO_ROOT, 'bin', 'ferry');

/** The front-door jobs of issue 31 and their targets: wall seconds for one object, speed ÷ rclone for the rest. */
const JOBS = [
  { objects: 1, target: { maxSeconds: 0.6 } },
  { objects: 3000, target: { minRatio: 1.0 } },
  { objects: 15000, target: { minRatio: 1.3 } },
] as const;
const NO_WORKER_MAX_SECONDS = 0.3;

/** Runs cases g (each front-door job) and h; returns their results. */
export async function frontDoorCases(ctx: FrontDoorContext): Promise<CaseResult[]> {
  buildDist(ctx.log);
  const home = tempDir('bench-ferry-home');
  const env = { ...ctx.minio.credentialEnv('minio'), ...ctx.vgw.credentialEnv('vgw'), FERRY_HOME: home, FERRY_LOG_LEVEL: 'WARN' };
  await ctx.minio.createBucket(SOURCE_BUCKET);
  await ctx.vgw.createBucket(DESTINATION_BUCKET);
  ctx.log('writing the front-door fixtures');
  for (const j of JOBS) await fillBucket(ctx.minio, SOURCE_BUCKET, `g${j.objects}/`, j.objects, OBJECT_SIZE);
  const door = new FrontDoor(ctx, home, env);
  try {
    await door.startServer();
    const results: CaseResult[] = [];
    if (ctx.want('g')) for (const j of JOBS) results.push(await door.caseG(j.objects, j.target));
    if (ctx.want('h')) results.push(await door.caseH());
    return results;
  } finally {
    await door.stop();
  }
}

/** bin/ferry runs dist/: build it from the sources being measured. */
function buildDist(log: (line: string) => void): void {
  const started = performance.now();
  const res = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  if (res.status !== 0) throw new Error(`npm run build failed: ${res.stdout.toString().slice(-1000)}${res.stderr.toString().slice(-1000)}`);
  log(`built dist/ for bin/ferry in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

class FrontDoor {
  private seq = 0;
  private worker?: ChildProcess;

  constructor(
    private readonly ctx: FrontDoorContext,
    private readonly home: string,
    private readonly env: Record<string, string>,
  ) {}

  /** Starts the embedded server through the front door: an untimed one-object `ferry run --keep-server`. */
  async startServer(): Promise<void> {
    const port = await freePort();
    const run = await this.ferryRun(1, ['--keep-server', '--port', String(port)]);
    this.ctx.log(`  embedded server started by an untimed \`ferry run --keep-server\` (${run.seconds.toFixed(2)} s)`);
  }

  async stop(): Promise<void> {
    this.worker?.kill('SIGTERM');
    spawnSync(FERRY, ['server', '--stop'], { env: { ...process.env, ...this.env }, stdio: 'ignore' });
  }

  /** g: `ferry run` and `rclone copy` of `objects` × 16 KiB, alternated, medians of the repeats. */
  async caseG(objects: number, target: { maxSeconds?: number; minRatio?: number }): Promise<CaseResult> {
    const c = this.ctx;
    c.log(`case g: ${objects.toLocaleString('en')} × 16 KiB, \`ferry run\` vs \`rclone copy\` (whole processes)`);
    const flags = c.rcloneFlags(CONCURRENCY);
    const rcloneRun = () => timedProcess(c.rclone, ['copy', `MINIO:${SOURCE_BUCKET}/g${objects}`, `VGW:${DESTINATION_BUCKET}/g${objects}`, ...flags], c.rcloneEnv, 'rclone');
    const runs: Record<'ferry' | 'rclone', RunFigures[]> = { ferry: [], rclone: [] };
    for (let rep = 0; rep < c.repeats; rep++) {
      for (const tool of rep % 2 ? (['rclone', 'ferry'] as const) : (['ferry', 'rclone'] as const)) {
        await c.vgw.emptyBucket(DESTINATION_BUCKET);
        const run = tool === 'ferry' ? await this.ferryRun(objects) : await rcloneRun();
        await this.checkCopied(objects, tool);
        runs[tool].push(run);
        c.log(`  ${tool} #${rep + 1}: ${run.seconds.toFixed(2)} s, peak RSS ${run.peakRssMiB?.toFixed(0) ?? '?'} MiB, CPU ${run.cpuSeconds.toFixed(2)} s`);
      }
    }
    const ferry = toolFigures(objects, objects * OBJECT_SIZE, runs.ferry);
    const rclone = toolFigures(objects, objects * OBJECT_SIZE, runs.rclone);
    const ratio = ferry.objectsPerSec / rclone.objectsPerSec;
    const met: Target = target.maxSeconds !== undefined
      ? { text: `ferry ≤ ${target.maxSeconds} s`, met: ferry.seconds <= target.maxSeconds }
      : { text: `≥ ${target.minRatio!.toFixed(1)}× rclone`, met: ratio >= target.minRatio! };
    return {
      ...frame(`g: ferry run, ${objects.toLocaleString('en')} × 16 KiB`, `\`ferry run job.yaml\` (warm embedded server) vs \`rclone copy\`, MinIO → versitygw, whole processes`, objects),
      ferry,
      rclone,
      ratioVsRclone: ratio,
      rcloneFlags: flags.join(' '),
      target: met,
    };
  }

  /** h: a one-object `ferry run --no-worker` while a `ferry worker` process polls (compare g's one-object row). */
  async caseH(): Promise<CaseResult> {
    const c = this.ctx;
    c.log('case h: one object, `ferry run --no-worker` with a `ferry worker` already running');
    await this.startWorker();
    const warm = await this.ferryRun(1, ['--no-worker']);
    c.log(`  worker proved ready by an untimed \`ferry run --no-worker\` (${warm.seconds.toFixed(2)} s)`);
    const runs: RunFigures[] = [];
    for (let rep = 0; rep < c.repeats; rep++) {
      await c.vgw.emptyBucket(DESTINATION_BUCKET);
      const run = await this.ferryRun(1, ['--no-worker']);
      await this.checkCopied(1, 'ferry');
      runs.push(run);
      c.log(`  ferry --no-worker #${rep + 1}: ${run.seconds.toFixed(2)} s, peak RSS ${run.peakRssMiB?.toFixed(0) ?? '?'} MiB, CPU ${run.cpuSeconds.toFixed(2)} s`);
    }
    const ferry = toolFigures(1, OBJECT_SIZE, runs);
    return {
      ...frame('h: ferry run --no-worker, 1 object', 'one-object `ferry run --no-worker` while a `ferry worker` runs (with an in-process worker: g\'s one-object row)', 1),
      ferry,
      rclone: null,
      ratioVsRclone: null,
      target: { text: `ferry ≤ ${NO_WORKER_MAX_SECONDS} s`, met: ferry.seconds <= NO_WORKER_MAX_SECONDS },
    };
  }

  /** A `ferry worker` in the background, as an operator runs one next to the embedded server. */
  private async startWorker(): Promise<void> {
    const logFd = openSync(join(this.home, 'bench-worker.log'), 'a');
    this.worker = spawn(FERRY, ['worker'], { env: { ...process.env, ...this.env }, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
  }

  /** One timed `bin/ferry run` of a fresh job copying `g<objects>/`. */
  private async ferryRun(objects: number, flags: string[] = []): Promise<RunFigures & { cpuSeconds: number }> {
    const file = join(this.home, `job-${this.seq}.yaml`);
    const s3 = (server: S3TestServer, bucket: string, profile: string) => ({ type: 's3', endpoint: server.endpoint, region: 'us-east-1', bucket, prefix: `g${objects}/`, credentials: profile });
    const job = { name: `g${objects}-${this.seq++}`, source: s3(this.ctx.minio, SOURCE_BUCKET, 'minio'), destination: s3(this.ctx.vgw, DESTINATION_BUCKET, 'vgw'), concurrency: { tasks: 1, objects: CONCURRENCY } };
    writeFileSync(file, JSON.stringify(job, null, 2));
    return timedProcess(FERRY, ['run', file, ...flags], this.env, 'ferry run');
  }

  private async checkCopied(objects: number, tool: string): Promise<void> {
    const n = await countObjects(this.ctx.vgw, DESTINATION_BUCKET);
    if (n !== objects) throw new Error(`${tool}: destination holds ${n} objects, expected ${objects}`);
  }
}

function frame(name: string, description: string, objects: number): Pick<CaseResult, 'name' | 'description' | 'objects' | 'bytes' | 'concurrency' | 'raw' | 'ratioVsRaw' | 'historyEventsPer1k' | 'extraRequestsPerObject'> {
  return { name, description, objects, bytes: objects * OBJECT_SIZE, concurrency: CONCURRENCY, raw: null, ratioVsRaw: null, historyEventsPer1k: null, extraRequestsPerObject: null };
}
