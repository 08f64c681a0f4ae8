/**
 * What a multipart upload costs the destination server, apart from any client: case b's objects (8 × 256 MiB) put
 * into versitygw (as the bench runs it, on tmpfs) by Ferry's s3 provider from memory, three ways, alternating:
 *
 *   single     8 lanes of single PUTs, one object each (raw's requests in case b)
 *   multipart  16 MiB parts, 8 lanes taking parts in object order, each object completed by the lane that
 *              uploaded its last part while the other lanes go on into the next object (Ferry's requests in b)
 *   assembly   the same parts uploaded first, then the 8 CompleteMultipartUploads alone, one after another: the
 *              server's cost of assembling an object from its parts
 *
 *   npx tsx bench/multipart-cost.ts [repeats=3]
 *
 * The figures are versitygw's CPU (user / system, from /proc) per mode, median of the repeats after one untimed
 * round. The client's CPU is not counted. Not part of `npm run bench`.
 */
import { rmSync } from 'node:fs';
import { openS3Provider } from '../storage/s3/s3';
import type { ObjectProvider, UploadedPart } from '../storage/provider';
import { startVersitygw, type S3TestServer } from '../test/support/s3-servers';
import { benchStorageDir, cpuTimes, spread } from './measure';

const MiB = 1024 * 1024;
const OBJECTS = 8;
const OBJECT_SIZE = 256 * MiB;
const PART_SIZE = 16 * MiB;
const LANES = 8;
const PARTS = OBJECT_SIZE / PART_SIZE;
const REPEATS = Number(process.argv[2] ?? 3);
const BUCKET = 'dst';

interface Sample {
  seconds: number;
  user: number;
  system: number;
}

/** Runs `fn` and returns its wall time and the server's CPU meanwhile. */
async function measured(server: S3TestServer, fn: () => Promise<void>): Promise<Sample> {
  const before = cpuTimes(server.process.pid)!;
  const started = performance.now();
  await fn();
  const after = cpuTimes(server.process.pid)!;
  return { seconds: (performance.now() - started) / 1000, user: after.user - before.user, system: after.system - before.system };
}

/** Runs `work` on `LANES` lanes until it returns false. */
async function lanes(work: () => Promise<boolean>): Promise<void> {
  await Promise.all(Array.from({ length: LANES }, async () => {
    while (await work());
  }));
}

/**
 * Uploads every object's parts, 8 lanes taking them in object order. `onUploaded` runs on the lane that finished
 * an object's last part (the lane waits for it, as the owner's lane of a Ferry upload waits for the complete).
 */
async function uploadParts(dst: ObjectProvider, body: Buffer, onUploaded: (key: string, uploadId: string, parts: UploadedPart[]) => Promise<void>): Promise<void> {
  const uploads: { key: string; uploadId: string; parts: UploadedPart[] }[] = [];
  for (let o = 0; o < OBJECTS; o++) uploads.push({ key: `o${o}`, uploadId: await dst.createMultipart!(`o${o}`), parts: [] });
  let next = 0;
  await lanes(async () => {
    if (next >= OBJECTS * PARTS) return false;
    const n = next++;
    const u = uploads[Math.floor(n / PARTS)]!;
    u.parts.push(await dst.uploadPart!(u.key, u.uploadId, (n % PARTS) + 1, body, PART_SIZE));
    if (u.parts.length === PARTS) await onUploaded(u.key, u.uploadId, u.parts.sort((a, b) => a.partNumber - b.partNumber));
    return true;
  });
}

async function main(): Promise<void> {
  const storage = benchStorageDir(2 * OBJECTS * OBJECT_SIZE + 256 * MiB);
  process.env.TMPDIR = storage.dir;
  const server = await startVersitygw({ keepAlive: true, quiet: true });
  try {
    await server.createBucket(BUCKET);
    const dst = openS3Provider({ type: 's3', endpoint: server.endpoint, bucket: BUCKET, credentials: 'bench' }, { env: server.credentialEnv('bench') });
    const whole = Buffer.alloc(OBJECT_SIZE, 97);
    const part = whole.subarray(0, PART_SIZE);
    const complete = async (key: string, uploadId: string, parts: UploadedPart[]) => void (await dst.completeMultipart!(key, uploadId, parts));
    const modes: Record<string, () => Promise<Sample>> = {
      single: () => {
        let next = 0;
        return measured(server, () => lanes(async () => next < OBJECTS && (await dst.put(`o${next++}`, whole), true)));
      },
      multipart: () => measured(server, () => uploadParts(dst, part, complete)),
      assembly: async () => {
        const done: [string, string, UploadedPart[]][] = [];
        await uploadParts(dst, part, async (...u) => void done.push(u));
        return measured(server, async () => {
          for (const u of done) await complete(...u);
        });
      },
    };
    const samples: Record<string, Sample[]> = {};
    const names = Object.keys(modes);
    console.error(`versitygw on ${storage.tmpfs ? 'tmpfs' : 'disk'} (${storage.dir}); ${OBJECTS} × ${OBJECT_SIZE / MiB} MiB, ${PART_SIZE / MiB} MiB parts, ${LANES} lanes; ${REPEATS} repeats`);
    // One untimed round first: a fresh server's first run is slow whichever mode makes it (single PUTs first cost
    // versitygw 8.95 system CPU-s, and 2.1–2.8 in later rounds).
    for (const name of names) {
      await server.emptyBucket(BUCKET);
      await modes[name]!();
    }
    for (let rep = 0; rep < REPEATS; rep++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + rep) % names.length]!;
        await server.emptyBucket(BUCKET);
        const s = await modes[name]!();
        (samples[name] ??= []).push(s);
        console.error(`  ${name} #${rep + 1}: ${s.seconds.toFixed(2)} s, versitygw CPU user ${s.user.toFixed(2)} s, system ${s.system.toFixed(2)} s`);
      }
    }
    // Medians of each figure, the total's included (the median of sums, as the difference below uses).
    const med = (name: string, f: (s: Sample) => number) => spread(samples[name]!.map(f)).median;
    const total = (name: string) => med(name, (s) => s.user + s.system);
    console.log('mode       seconds  versitygw CPU-s (user / system / total), median');
    for (const name of names) console.log(`${name.padEnd(10)} ${med(name, (s) => s.seconds).toFixed(2).padStart(7)}  ${med(name, (s) => s.user).toFixed(2)} / ${med(name, (s) => s.system).toFixed(2)} / ${total(name).toFixed(2)}`);
    console.log(`multipart − single: ${(total('multipart') - total('single')).toFixed(2)} CPU-s of versitygw for ${(OBJECTS * OBJECT_SIZE) / 1024 / MiB} GiB; assembly alone: ${total('assembly').toFixed(2)}`);
  } finally {
    await server.stop();
    rmSync(storage.dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? e.stack : String(e));
    process.exit(1);
  },
);
