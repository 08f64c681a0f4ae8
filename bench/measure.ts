/** Measurement helpers for the benchmark: peak RSS from /proc, repeat statistics, the machine description. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg, totalmem, platform, release, tmpdir } from 'node:os';

/** Resets a process's peak-RSS counter (`VmHWM`) to its current RSS (Linux ≥ 4.0: `clear_refs` value 5). */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** `VmHWM` (peak RSS since start or the last reset) of a live process, MiB. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** User and system CPU seconds (every thread) a live process has used so far; undefined once it is gone. */
export function cpuTimes(pid: number): { user: number; system: number } | undefined {
  try {
    // After `(comm) `: state is field 0, utime 11 and stime 12 (clock ticks, 100 per second).
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return { user: Number(rest[11]) / 100, system: Number(rest[12]) / 100 };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, every thread) a live process has used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  const t = cpuTimes(pid);
  return t && t.user + t.system;
}

/** MemAvailable from /proc/meminfo, bytes (undefined off Linux). */
function memAvailable(): number | undefined {
  try {
    const kb = Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    return Number.isFinite(kb) ? kb * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the storage servers keep their data: tmpfs (/dev/shm) when it has `needBytes` free and the machine has that
 * much memory available besides 4 GiB for the processes (tmpfs pages are RAM), so the VM's disk (writeback of earlier
 * runs, fsync) is not what is measured; the system temp dir otherwise.
 */
export function benchStorageDir(needBytes: number): { dir: string; tmpfs: boolean } {
  try {
    const st = statfsSync('/dev/shm');
    const ram = memAvailable();
    if (st.bavail * st.bsize >= needBytes && (ram === undefined || ram >= needBytes + 4 * 1024 ** 3)) return { dir: mkdtempSync(join('/dev/shm', 'ferry-bench-')), tmpfs: true };
  } catch {
    // no /dev/shm: fall through
  }
  return { dir: mkdtempSync(join(tmpdir(), 'ferry-bench-')), tmpfs: false };
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
  note: string;
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    note: 'shared machine whose speed varies within a day (the load averages show what else ran), so absolute numbers are noisy; Ferry, rclone and raw run interleaved in the same run to keep ratios comparable',
  };
}

/** Current RSS (`VmRSS`) of a live process, MiB. */
export function currentRssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** One whole process timed by `/usr/bin/time`: wall seconds, its peak RSS and CPU seconds. Throws if it fails. */
export async function timedProcess(bin: string, args: string[], env: Record<string, string>, label: string): Promise<{ seconds: number; peakRssMiB: number | null; cpuSeconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-time-'));
  const timeFile = join(dir, 'time');
  const started = performance.now();
  const res = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => resolve({ code, err }));
  });
  const seconds = (performance.now() - started) / 1000;
  const times = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!;
  rmSync(dir, { recursive: true, force: true });
  if (res.code !== 0) throw new Error(`${label} failed (${res.code}): ${res.err.slice(-2000)}`);
  const [kb, user, sys] = times.split(' ').map(Number) as [number, number, number];
  return { seconds, peakRssMiB: Number.isFinite(kb) ? kb / 1024 : null, cpuSeconds: user + sys };
}
