/**
 * Benchmark harness (`npm run bench`, `npm run bench -- --quick`): Ferry against rclone and a raw SDK loop on
 * the same servers, data and concurrency, interleaved, each repeated; a 10⁴…10⁶-key synthetic case for worker
 * memory and history growth; and whole `ferry run` processes from the front door (g, h: front-door.ts). Writes
 * bench/results/latest.json and ratios.svg and prints a table.
 *
 * Options: --quick (smaller sizes, every case), --repeats N (default 3; g and h: 5, quick 3),
 * --only a,b,c-small,c-large,d,f,g,h (case ids),
 * --synthetic 10000,1000000 (key counts of case f),
 * --scale [N] (only the scale case, bench/scale.ts: N keys, default 10⁸, against a 10⁶ reference on one worker).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { buildWorkflowBundle } from '../workers/worker';
import type { Client } from '@temporalio/client';
import { startMinio, startVersitygw, type S3TestServer } from '../test/support/s3-servers';
import { startTemporal, type TemporalTestServer } from '../test/support/temporal';
import { historyEvents, startJob, REPO_ROOT } from '../test/support/ferry';
import { tempDir, toolPath, TOOLS_DIR, TOOL_VERSIONS } from '../test/support/process';
import type { JobResult } from '../common/progress';
import type { RequestCounts } from './worker';
import type { RawInput, S3Side } from './raw';
import { benchStorageDir, timedProcess, cpuSeconds, currentRssMiB, machine, peakRssMiB, resetPeakRss, spread } from './measure';
import { countObjects, fillBucket, fillDir } from './fixtures';
import { frontDoorCases } from './front-door';
import { median, table, toolFigures, writeResults, type BenchResults, type CaseResult, type ToolFigures } from './report';
import { runScaleBench } from './scale';

const MiB = 1024 * 1024;
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const repeatsArg = argv.indexOf('--repeats');
const repeatsGiven = repeatsArg >= 0 ? Number(argv[repeatsArg + 1]) : undefined;
const REPEATS = repeatsGiven ?? 3;
const onlyArg = argv.indexOf('--only');
const ONLY = onlyArg >= 0 ? new Set(argv[onlyArg + 1]!.split(',')) : undefined;
const syntheticArg = argv.indexOf('--synthetic');
const scaleArg = argv.indexOf('--scale');
const SCALE_KEYS = scaleArg < 0 ? undefined : /^\d/.test(argv[scaleArg + 1] ?? '') ? Number(argv[scaleArg + 1]) : 100_000_000;

const SIZES_BY_MODE = quick
  ? { smallCount: 1000, smallSize: 16 * 1024, largeCount: 8, largeSize: 80 * MiB, synthetic: [10_000, 100_000] }
  : { smallCount: 5000, smallSize: 16 * 1024, largeCount: 8, largeSize: 256 * MiB, synthetic: [10_000, 100_000, 1_000_000] };
const SIZES = { ...SIZES_BY_MODE, synthetic: syntheticArg >= 0 ? argv[syntheticArg + 1]!.split(',').map(Number) : SIZES_BY_MODE.synthetic };
/** Transfers in flight for every tool: small objects / large objects (objects or parts: Ferry's lanes take parts). */
const SMALL_CONCURRENCY = 32;
const LARGE_CONCURRENCY = 8;
/** Keys of the untimed job each case-f worker runs first (~4 s; by then a worker's resident set has stopped growing). */
const SYNTHETIC_WARM_UP_KEYS = 200_000;
const PART_SIZE = 16 * MiB;
/** Bytes of case g's fixtures (1 + 3,000 + 15,000 objects of 16 KiB). */
const FRONT_DOOR_BYTES = 18_001 * 16 * 1024;
const MULTIPART_THRESHOLD = 64 * MiB;
/**
 * rclone --s3-upload-concurrency: one part at a time per file, so `--transfers 8` is 8 transfers in flight, as Ferry's
 * `objects: 8` (whose free lanes take parts of large objects) and raw's 8 lanes are. rclone was faster so than with
 * 4 per file (32 in flight) in b: 10.8–12.6 s against 13.0–14.7 s.
 */
const RCLONE_UPLOAD_CONCURRENCY = 1;

/** The node flags bin/ferry starts every installed worker with (each explained there). */
const LAUNCHER_NODE_FLAGS = /^exec node ((?:--[\w-]+(?:=\S+)? )*)/m.exec(readFileSync(join(REPO_ROOT, 'bin', 'ferry'), 'utf8'))?.[1]!.split(' ').filter(Boolean) ?? [];

const log = (s: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);

// ---------------------------------------------------------------------------------------------- provisioning

/** rclone v1.75.0 from the tool cache (built by scripts/setup.sh --with-bench), else Debian's rclone. */
function provisionRclone(): { path: string; version: string } {
  const cached = () => {
    try {
      return toolPath('rclone');
    } catch {
      return undefined;
    }
  };
  let p = cached();
  if (!p) {
    log(`rclone ${TOOL_VERSIONS.rclone} missing in ${TOOLS_DIR}: running scripts/setup.sh --with-bench`);
    spawnSync('bash', [join(REPO_ROOT, 'scripts', 'setup.sh'), '--with-bench'], { stdio: 'inherit' });
    p = cached();
  }
  if (!p) {
    const which = spawnSync('sh', ['-c', 'command -v rclone']);
    const sys = which.stdout?.toString().trim();
    if (!sys) throw new Error('rclone is not available: install Go ≥ 1.25 and run `bash scripts/setup.sh --with-bench`, or `apt-get install rclone` (older, fallback)');
    log(`using the system rclone at ${sys} (fallback; older than ${TOOL_VERSIONS.rclone})`);
    p = sys;
  }
  const version = spawnSync(p, ['version']).stdout.toString().split('\n')[0]!.trim();
  return { path: p, version };
}

// ---------------------------------------------------------------------------------------------- Ferry worker

interface BenchWorker {
  pid: number;
  counts(): Promise<RequestCounts>;
  stop(): Promise<void>;
}

/**
 * Compiles bench/worker.ts and what it imports to JavaScript under dist/bench-build (production workers run
 * compiled code from dist/; tsx would add ~60 MiB of transpiler state to the RSS being measured). Returns the
 * entry file, or undefined (then the worker runs under tsx) when tsc fails.
 */
function compileBenchWorker(): string | undefined {
  const outDir = join(REPO_ROOT, 'dist', 'bench-build');
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--outDir', outDir, '--rootDir', REPO_ROOT, '--strict', '--noUncheckedIndexedAccess', '--module', 'commonjs', '--target', 'ES2022', '--moduleResolution', 'node', '--esModuleInterop', '--skipLibCheck', '--resolveJsonModule', '--types', 'node'];
  // The project's own declarations (tsconfig.json includes them; a file list given to tsc does not).
  const declarations = [join(REPO_ROOT, 'storage', 'oss', 'xml2js.d.ts')];
  const res = spawnSync(process.execPath, [tsc, join(__dirname, 'worker.ts'), ...declarations, ...flags], { cwd: REPO_ROOT });
  const entry = join(outDir, 'bench', 'worker.js');
  if (res.status !== 0 || !existsSync(entry)) {
    log(`could not compile the bench worker (running it under tsx instead): ${res.stdout.toString().slice(0, 1000)}`);
    return undefined;
  }
  return entry;
}

let workerEntry: string | undefined;
/** Bench workers running now (killed when the run is interrupted). */
const liveWorkers = new Set<ChildProcess>();

async function startBenchWorker(temporal: TemporalTestServer, env: Record<string, string>, label: string, cpuProfDir?: string): Promise<BenchWorker> {
  const logFile = process.env.BENCH_WORKER_LOG_DIR ? join(process.env.BENCH_WORKER_LOG_DIR, `${label}.log`) : join(tempDir(`bench-worker-${label}`), 'worker.log');
  const fd = openSync(logFile, 'a');
  const entry = workerEntry ? [workerEntry] : ['--import', 'tsx', join(__dirname, 'worker.ts')];
  const args = ['--expose-gc', ...LAUNCHER_NODE_FLAGS, ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []), ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []), ...entry];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    // MALLOC_ARENA_MAX and the node flags as bin/ferry (and so `ferry worker` and the Docker image) runs every worker.
    env: { ...process.env, MALLOC_ARENA_MAX: '2', TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace, FERRY_LOG_LEVEL: 'WARN', FERRY_REPORT_DIR: tempDir('bench-reports'), ...env },
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  liveWorkers.add(child);
  child.once('exit', () => liveWorkers.delete(child));
  const pid = child.pid!;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`bench worker not ready after 120 s:\n${readFileSync(logFile, 'utf8').slice(-2000)}`)), 120_000);
    child.once('exit', (code) => reject(new Error(`bench worker exited with ${code}:\n${readFileSync(logFile, 'utf8').slice(-2000)}`)));
    child.on('message', (m: { type?: string }) => m?.type === 'ready' && (clearTimeout(t), resolve()));
  });
  return {
    pid,
    counts: () =>
      new Promise((resolve) => {
        const on = (m: { type?: string; counts?: RequestCounts }) => {
          if (m?.type !== 'counts') return;
          child.off('message', on);
          resolve(m.counts!);
        };
        child.on('message', on);
        child.send({ type: 'counts' });
      }),
    async stop() {
      if (child.exitCode === null) process.kill(pid, 'SIGTERM');
      const t = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

// ---------------------------------------------------------------------------------------------- cases

interface Run {
  seconds: number;
  peakRssMiB: number | null;
  /** CPU seconds of the tool's own process, and of the storage servers and Temporal while it ran. */
  cpuSeconds?: number;
  serverCpuSeconds?: number;
  /** Ferry: seconds from starting the job to its first object request, and from its last one to the job's result. */
  firstDataSeconds?: number;
  afterLastDataSeconds?: number;
  events?: number;
  extra?: Record<string, number>;
}

type Tool = 'ferry' | 'rclone' | 'raw' | 'rawSinglePut';

interface CaseDef {
  id: string;
  name: string;
  description: string;
  objects: number;
  bytes: number;
  concurrency: number;
  job: Record<string, unknown>;
  /** rclone source and destination (remote:bucket or a path) — none for synthetic cases. */
  rclone?: { src: string; dst: string; flags: string[] };
  raw?: RawInput;
  /** The raw loop with single PUTs only (large-object cases: an information row beside the multipart raw). */
  rawSinglePut?: RawInput;
  /** Empties the destination; returns how many objects it held (checked after every run). */
  destination?: { server: S3TestServer; bucket: string };
  /** An untimed Ferry job on the case's fresh worker before the timed runs (case f). */
  workerWarmUp?: CaseDef;
}

/** Case f at `n` keys: synthetic 64-byte objects planned and copied to a null sink. */
function synthetic(n: number): CaseDef {
  return {
    id: `f-${n}`, name: `f: plan+copy ${n.toLocaleString('en')} keys`, description: `${n.toLocaleString('en')} synthetic 64-byte keys → null sink (memory and history growth)`, objects: n, bytes: n * 64, concurrency: 64,
    job: { source: { type: 'fs', path: `/synthetic/src/${n}` }, destination: { type: 'fs', path: '/synthetic/sink' }, overwrite: 'always', verify: 'none', concurrency: { tasks: 8, objects: 64 } },
  };
}

function side(s: S3TestServer, bucket: string): S3Side {
  return { endpoint: s.endpoint, bucket, accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey };
}

/** Raw loops of a large-object case: multipart with Ferry's part size (the limit), and single PUTs (information). */
function rawLarge(source: RawInput['source'], destination: S3Side): Pick<CaseDef, 'raw' | 'rawSinglePut'> {
  const base = { source, destination, mode: 'copy' as const, concurrency: LARGE_CONCURRENCY };
  return { raw: { ...base, multipart: { threshold: MULTIPART_THRESHOLD, partSize: PART_SIZE } }, rawSinglePut: base };
}

function rcloneEnv(minio: S3TestServer, vgw: S3TestServer): Record<string, string> {
  const env: Record<string, string> = { RCLONE_CONFIG: '/dev/null' };
  for (const [name, s] of [['MINIO', minio], ['VGW', vgw]] as const) {
    Object.assign(env, {
      [`RCLONE_CONFIG_${name}_TYPE`]: 's3',
      [`RCLONE_CONFIG_${name}_PROVIDER`]: 'Other',
      [`RCLONE_CONFIG_${name}_ENDPOINT`]: s.endpoint,
      [`RCLONE_CONFIG_${name}_REGION`]: 'us-east-1',
      [`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`]: s.accessKeyId,
      [`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`]: s.secretAccessKey,
      [`RCLONE_CONFIG_${name}_FORCE_PATH_STYLE`]: 'true',
    });
  }
  return env;
}

function rcloneFlags(concurrency: number): string[] {
  return [
    '--transfers', String(concurrency),
    '--checkers', String(concurrency),
    '--s3-upload-concurrency', String(RCLONE_UPLOAD_CONCURRENCY),
    '--s3-chunk-size', `${PART_SIZE / MiB}Mi`,
    '--s3-upload-cutoff', `${MULTIPART_THRESHOLD / MiB}Mi`,
    '--s3-copy-cutoff', `${MULTIPART_THRESHOLD / MiB}Mi`,
    '--s3-no-check-bucket',
    '--stats', '0',
    '-q',
  ];
}

async function runRclone(bin: string, c: CaseDef, env: Record<string, string>): Promise<Run> {
  return timedProcess(bin, ['copy', c.rclone!.src, c.rclone!.dst, ...c.rclone!.flags], env, 'rclone');
}

async function runRawLoop(c: CaseDef, input: RawInput): Promise<Run> {
  const res = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'raw.ts')], { cwd: REPO_ROOT, env: { ...process.env, BENCH_RAW: JSON.stringify(input) }, maxBuffer: 1 << 20 });
  if (res.status !== 0) throw new Error(`raw loop failed: ${res.stderr.toString().slice(-2000)}`);
  const out = JSON.parse(res.stdout.toString().trim().split('\n').pop()!) as { seconds: number; objects: number; peakRssMiB: number; cpuSeconds: number };
  if (out.objects !== c.objects) throw new Error(`raw loop copied ${out.objects} objects, expected ${c.objects}`);
  return { seconds: out.seconds, peakRssMiB: out.peakRssMiB, cpuSeconds: out.cpuSeconds };
}

let jobSeq = 0;
async function runFerry(client: Client, worker: BenchWorker, c: CaseDef): Promise<Run> {
  const name = `bench-${c.id}-${Date.now().toString(36)}-${jobSeq++}`;
  const before = await worker.counts();
  resetPeakRss(worker.pid);
  const cpuBefore = cpuSeconds(worker.pid);
  const started = performance.now();
  const startedAt = Date.now();
  const handle = await startJob(client, { ...c.job, name });
  const r = (await Promise.race([handle.result(), new Promise((_, rej) => setTimeout(() => rej(new Error(`${name}: no result after 30 min`)), 30 * 60_000).unref())])) as JobResult;
  const seconds = (performance.now() - started) / 1000;
  const endedAt = Date.now();
  const peak = peakRssMiB(worker.pid) ?? null;
  const cpu = (cpuSeconds(worker.pid) ?? NaN) - (cpuBefore ?? NaN);
  if (r.status !== 'succeeded' || r.objects.copied !== c.objects) throw new Error(`${name}: ${r.status}, copied ${r.objects.copied} of ${c.objects}: ${r.error ?? ''}`);
  const after = await worker.counts();
  const extra: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.other)) if (v - (before.other[k] ?? 0)) extra[k] = v - (before.other[k] ?? 0);
  const h = await historyEvents(client, name);
  // Time from the job's start to its first object request, and from the last one to its result (S3 cases).
  const edges = after.firstDataAt ? { firstDataSeconds: (after.firstDataAt - startedAt) / 1000, afterLastDataSeconds: (endedAt - after.lastDataAt) / 1000 } : {};
  return { seconds, peakRssMiB: peak, cpuSeconds: Number.isFinite(cpu) ? cpu : undefined, events: h.job + h.tasks, extra, ...edges };
}

function figures(c: CaseDef, runs: Run[]): ToolFigures {
  return toolFigures(c.objects, c.bytes, runs);
}

/** CPU seconds used so far by each storage server and Temporal. */
function serversCpu(servers: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(servers).map(([name, pid]) => [name, cpuSeconds(pid) ?? 0]));
}

async function runCase(c: CaseDef, ctx: { client: Client; temporal: TemporalTestServer; workerEnv: Record<string, string>; rclone: string; rcloneEnv: Record<string, string>; serverPids: Record<string, number> }): Promise<CaseResult> {
  log(`case ${c.name}: ${c.description}`);
  const worker = await startBenchWorker(ctx.temporal, ctx.workerEnv, c.id, process.env.BENCH_CPU_PROF && c.id === process.env.BENCH_CPU_PROF ? join(REPO_ROOT, 'bench', 'results') : undefined);
  const idleRssMiB = peakRssMiB(worker.pid) ?? null;
  log(`  ferry worker pid ${worker.pid} ready, peak RSS so far ${idleRssMiB?.toFixed(0) ?? '?'} MiB, RSS now ${currentRssMiB(worker.pid)?.toFixed(0) ?? '?'} MiB`);
  const runs: Record<Tool, Run[]> = { ferry: [], rclone: [], raw: [], rawSinglePut: [] };
  const tools = (['ferry', 'rclone', 'raw', 'rawSinglePut'] as const).filter((t) => t === 'ferry' || c[t]);
  const runTool = (tool: Tool): Promise<Run> => (tool === 'ferry' ? runFerry(ctx.client, worker, c) : tool === 'rclone' ? runRclone(ctx.rclone, c, ctx.rcloneEnv) : runRawLoop(c, c[tool]!));
  try {
    // Case f compares peak RSS across key counts, so each size is measured on a worker that has already run the same
    // untimed job: a worker's resident set grows over its first seconds of work whatever the job size (10⁴-key jobs
    // repeated on one worker peaked at 172, 175, 179, 181 … 184 MiB by the 20th, then stayed at 176–184 to the 60th),
    // and without it the 10⁴ case (three runs of 0.3 s) measured a cold worker against warm ones at 10⁶.
    if (c.workerWarmUp) {
      const w = await runFerry(ctx.client, worker, c.workerWarmUp);
      log(`  worker warmed by an untimed ${c.workerWarmUp.objects.toLocaleString('en')}-key job (${w.seconds.toFixed(2)} s, peak RSS ${w.peakRssMiB?.toFixed(0) ?? '?'} MiB)`);
    }
    // One untimed run of each peer first, for the servers: the first runs on them after the fixtures were written
    // are slow whoever makes them, and would always be Ferry's (the first of the first repeat). Raw alone did not
    // do it where the destination assembles multipart uploads, which raw's single PUTs never make: in b, after it,
    // versitygw still used 11.2–12.3 CPU-s in Ferry's first run against 7.3–7.9 in its others, and 19.2–20.5 in
    // rclone's first against 14.6–17.6.
    for (const tool of (['raw', 'rclone'] as const).filter((t) => c[t])) {
      if (c.destination) await c.destination.server.emptyBucket(c.destination.bucket);
      log(`  servers warmed by an untimed ${tool} run (${(await runTool(tool)).seconds.toFixed(2)} s)`);
    }
    for (let rep = 0; rep < REPEATS; rep++) {
      // Each repeat starts with the next tool, so no tool always runs first (or last) in a repeat.
      for (const tool of [...tools.slice(rep % tools.length), ...tools.slice(0, rep % tools.length)]) {
        if (c.destination) await c.destination.server.emptyBucket(c.destination.bucket);
        const serversBefore = serversCpu(ctx.serverPids);
        const run = await runTool(tool);
        const serversAfter = serversCpu(ctx.serverPids);
        const perServer = Object.entries(serversAfter).map(([name, cpu]) => `${name} ${(cpu - serversBefore[name]!).toFixed(1)}`).join(', ');
        run.serverCpuSeconds = Object.entries(serversAfter).reduce((sum, [name, cpu]) => sum + cpu - serversBefore[name]!, 0);
        if (c.destination) {
          const n = await countObjects(c.destination.server, c.destination.bucket);
          if (n !== c.objects) throw new Error(`${c.name} ${tool}: destination holds ${n} objects, expected ${c.objects}`);
        }
        runs[tool].push(run);
        log(`  ${tool} #${rep + 1}: ${run.seconds.toFixed(2)} s, peak RSS ${run.peakRssMiB?.toFixed(0) ?? '?'} MiB, CPU ${run.cpuSeconds?.toFixed(1) ?? '?'} s (servers ${run.serverCpuSeconds.toFixed(1)} s: ${perServer})${run.firstDataSeconds !== undefined ? `, first object request after ${run.firstDataSeconds.toFixed(2)} s, result ${run.afterLastDataSeconds!.toFixed(2)} s after the last` : ''}${run.events !== undefined ? `, ${run.events} history events` : ''}${run.extra ? `, extra requests ${JSON.stringify(run.extra)}` : ''}`);
      }
    }
  } finally {
    await worker.stop();
  }
  const ferry = figures(c, runs.ferry);
  const rclone = runs.rclone.length ? figures(c, runs.rclone) : null;
  const raw = runs.raw.length ? figures(c, runs.raw) : null;
  const rawSinglePut = runs.rawSinglePut.length ? figures(c, runs.rawSinglePut) : undefined;
  const events = spread(runs.ferry.map((r) => r.events ?? 0)).median;
  const extraTotals = runs.ferry.map((r) => Object.values(r.extra ?? {}).reduce((a, b) => a + b, 0));
  const medianRun = runs.ferry[runs.ferry.map((r) => r.seconds).indexOf([...runs.ferry.map((r) => r.seconds)].sort((a, b) => a - b)[Math.floor(runs.ferry.length / 2)]!)];
  const s3Involved = !!c.destination;
  return {
    name: c.name,
    description: c.description,
    objects: c.objects,
    bytes: c.bytes,
    concurrency: c.concurrency,
    ferry,
    rclone,
    raw,
    rawSinglePut,
    ratioVsRclone: rclone ? ferry.objectsPerSec / rclone.objectsPerSec : null,
    ratioVsRaw: raw ? ferry.objectsPerSec / raw.objectsPerSec : null,
    historyEventsPer1k: (events / c.objects) * 1000,
    extraRequestsPerObject: s3Involved ? spread(extraTotals).median / c.objects : null,
    extraRequests: medianRun?.extra,
    rcloneFlags: c.rclone ? c.rclone.flags.join(' ') : undefined,
    ferryWorkerStartRssMiB: idleRssMiB,
    ferryToFirstObjectSeconds: median(runs.ferry.map((r) => r.firstDataSeconds)),
    ferryAfterLastObjectSeconds: median(runs.ferry.map((r) => r.afterLastDataSeconds)),
  };
}

// ---------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  if (SCALE_KEYS !== undefined) {
    workerEntry = compileBenchWorker();
    await runScaleBench(SCALE_KEYS, { startWorker: (temporal, env) => startBenchWorker(temporal, env, 'scale'), job: (n) => synthetic(n).job, log });
    return;
  }
  const started = Date.now();
  const mach = machine();
  const rclone = provisionRclone();
  log(`${quick ? 'quick' : 'full'} run, ${REPEATS} repeats; rclone: ${rclone.version} (${rclone.path})`);
  // Every temp dir of this run (server data, fixtures, logs) goes under one storage dir, on tmpfs when it fits.
  const need = (SIZES.smallCount * SIZES.smallSize * 4 + SIZES.largeCount * SIZES.largeSize * 4 + FRONT_DOOR_BYTES * 3) * 1.5;
  const storage = benchStorageDir(need);
  process.env.TMPDIR = storage.dir;
  log(`server data and fixtures in ${storage.dir}${storage.tmpfs ? ' (tmpfs)' : ' (no tmpfs with room: disk)'}`);
  // Interrupted (Ctrl-C, timeout): stop the servers and remove the storage dir, which on tmpfs holds RAM.
  const servers: { stop(): Promise<void> }[] = [];
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping the servers and workers, removing ${storage.dir}`);
      for (const w of liveWorkers) w.kill('SIGKILL');
      void Promise.allSettled(servers.map((x) => x.stop())).finally(() => {
        rmSync(storage.dir, { recursive: true, force: true });
        process.exit(130);
      });
    });
  }
  const [minio, vgw, temporal] = await Promise.all([startMinio(), startVersitygw({ keepAlive: true, quiet: true }), startTemporal()]);
  servers.push(minio, vgw, temporal);
  const dataDir = tempDir('bench-data');
  try {
    const client = await temporal.client();
    for (const b of ['small', 'large', 'fsdst', 'copy']) await minio.createBucket(b);
    await vgw.createBucket('dst');
    const { smallCount, smallSize, largeCount, largeSize } = SIZES;
    const want = (id: string) => !ONLY || ONLY.has(id);
    log('writing fixtures');
    if (want('a') || want('d')) await fillBucket(minio, 'small', 'small/', smallCount, smallSize);
    if (want('b')) await fillBucket(minio, 'large', 'large/', largeCount, largeSize);
    if (want('c-small')) await fillDir(join(dataDir, 'small'), 'small', smallCount, smallSize);
    if (want('c-large')) await fillDir(join(dataDir, 'large'), 'large', largeCount, largeSize);

    const s3 = (server: S3TestServer, bucket: string, profile: string) => ({ type: 's3', endpoint: server.endpoint, region: 'us-east-1', bucket, credentials: profile });
    const common = { overwrite: 'if-different', verify: 'size', multipart: { threshold: MULTIPART_THRESHOLD, partSize: PART_SIZE } };
    const small = { objects: smallCount, bytes: smallCount * smallSize };
    const large = { objects: largeCount, bytes: largeCount * largeSize };
    const sizeLabel = (n: number, s: number) => `${n.toLocaleString('en')} × ${s >= MiB ? `${s / MiB} MiB` : `${s / 1024} KiB`}`;
    const cases: CaseDef[] = [
      {
        id: 'a', name: 'a: small S3→S3', description: `${sizeLabel(smallCount, smallSize)} MinIO → versitygw`, ...small, concurrency: SMALL_CONCURRENCY,
        job: { ...common, source: s3(minio, 'small', 'minio'), destination: s3(vgw, 'dst', 'vgw'), concurrency: { tasks: 1, objects: SMALL_CONCURRENCY } },
        rclone: { src: 'MINIO:small', dst: 'VGW:dst', flags: rcloneFlags(SMALL_CONCURRENCY) },
        raw: { source: { kind: 's3' as const, ...side(minio, 'small') }, destination: side(vgw, 'dst'), mode: 'copy' as const, concurrency: SMALL_CONCURRENCY },
        destination: { server: vgw, bucket: 'dst' },
      },
      {
        id: 'b', name: 'b: large S3→S3', description: `${sizeLabel(largeCount, largeSize)} MinIO → versitygw`, ...large, concurrency: LARGE_CONCURRENCY,
        job: { ...common, source: s3(minio, 'large', 'minio'), destination: s3(vgw, 'dst', 'vgw'), concurrency: { tasks: 1, objects: LARGE_CONCURRENCY } },
        rclone: { src: 'MINIO:large', dst: 'VGW:dst', flags: rcloneFlags(LARGE_CONCURRENCY) },
        ...rawLarge({ kind: 's3' as const, ...side(minio, 'large') }, side(vgw, 'dst')),
        destination: { server: vgw, bucket: 'dst' },
      },
      {
        id: 'c-small', name: 'c: small fs→S3', description: `${sizeLabel(smallCount, smallSize)} local directory → MinIO`, ...small, concurrency: SMALL_CONCURRENCY,
        job: { ...common, source: { type: 'fs', path: join(dataDir, 'small') }, destination: s3(minio, 'fsdst', 'minio'), concurrency: { tasks: 1, objects: SMALL_CONCURRENCY } },
        rclone: { src: join(dataDir, 'small'), dst: 'MINIO:fsdst', flags: rcloneFlags(SMALL_CONCURRENCY) },
        raw: { source: { kind: 'fs' as const, dir: join(dataDir, 'small') }, destination: side(minio, 'fsdst'), mode: 'copy' as const, concurrency: SMALL_CONCURRENCY },
        destination: { server: minio, bucket: 'fsdst' },
      },
      {
        id: 'c-large', name: 'c: large fs→S3', description: `${sizeLabel(largeCount, largeSize)} local directory → MinIO`, ...large, concurrency: LARGE_CONCURRENCY,
        job: { ...common, source: { type: 'fs', path: join(dataDir, 'large') }, destination: s3(minio, 'fsdst', 'minio'), concurrency: { tasks: 1, objects: LARGE_CONCURRENCY } },
        rclone: { src: join(dataDir, 'large'), dst: 'MINIO:fsdst', flags: rcloneFlags(LARGE_CONCURRENCY) },
        ...rawLarge({ kind: 'fs' as const, dir: join(dataDir, 'large') }, side(minio, 'fsdst')),
        destination: { server: minio, bucket: 'fsdst' },
      },
      {
        id: 'd', name: 'd: server-side copy', description: `${sizeLabel(smallCount, smallSize)} MinIO bucket → bucket on the same endpoint`, ...small, concurrency: SMALL_CONCURRENCY,
        job: { ...common, source: s3(minio, 'small', 'minio'), destination: s3(minio, 'copy', 'minio'), concurrency: { tasks: 1, objects: SMALL_CONCURRENCY } },
        rclone: { src: 'MINIO:small', dst: 'MINIO:copy', flags: rcloneFlags(SMALL_CONCURRENCY) },
        raw: { source: { kind: 's3' as const, ...side(minio, 'small') }, destination: side(minio, 'copy'), mode: 'server-side' as const, concurrency: SMALL_CONCURRENCY },
        destination: { server: minio, bucket: 'copy' },
      },
      ...SIZES.synthetic.map((n): CaseDef => ({ ...synthetic(n), workerWarmUp: synthetic(SYNTHETIC_WARM_UP_KEYS) })),
    ].filter((c) => want(c.id) || (c.id.startsWith('f-') && want('f')));

    // Workers load a prebuilt workflow bundle, as production workers from dist/ do (no webpack in the worker).
    const bundleFile = join(dataDir, 'workflow-bundle.js');
    writeFileSync(bundleFile, (await buildWorkflowBundle()).code);
    workerEntry = compileBenchWorker();
    const workerEnv = { ...minio.credentialEnv('minio'), ...vgw.credentialEnv('vgw'), FERRY_WORKFLOW_BUNDLE: bundleFile };
    const ctx = { client, temporal, workerEnv, rclone: rclone.path, rcloneEnv: rcloneEnv(minio, vgw), serverPids: { minio: minio.process.pid, versitygw: vgw.process.pid, temporal: temporal.process.pid } };
    const results: CaseResult[] = [];
    for (const c of cases) results.push(await runCase(c, ctx));
    if (want('g') || want('h')) results.push(...(await frontDoorCases({ minio, vgw, rclone: rclone.path, rcloneEnv: ctx.rcloneEnv, rcloneFlags, repeats: repeatsGiven ?? (quick ? 3 : 5), want, log })));
    const out: BenchResults = { machine: { ...mach, loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) }, date: new Date().toISOString(), mode: quick ? 'quick' : 'full', repeats: REPEATS, cases: results };
    (out.machine as unknown as Record<string, unknown>).storage = storage.tmpfs ? 'tmpfs (/dev/shm)' : 'disk (system temp dir)';
    (out.machine as unknown as Record<string, unknown>).peers = { rclone: rclone.version, minio: TOOL_VERSIONS.minio, versitygw: TOOL_VERSIONS.versitygw, temporal: TOOL_VERSIONS.temporal };
    const files = writeResults(out);
    console.log(table(out));
    log(`wrote ${files.json} and ${files.svg} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await Promise.allSettled([minio.stop(), vgw.stop(), temporal.stop()]);
    rmSync(storage.dir, { recursive: true, force: true });
  }
}

if (!existsSync(join(__dirname, 'results'))) mkdirSync(join(__dirname, 'results'), { recursive: true });
main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench: ${e instanceof Error ? e.stack : String(e)}`);
    process.exit(1);
  },
);
