#!/usr/bin/env node
/**
 * The demo behind `npm run demo`: creates sample data under `<data-dir>/demo/` (a small tree with nested
 * folders, unicode and space in names, an empty file and a 24 MiB file that goes multipart), writes a job file,
 * runs `ferry run` on it with the embedded Temporal server (left running so the Web UI can be explored), then
 * prints the report. Everything it creates lives in the data directory (`~/.ferry` or FERRY_HOME).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { main } from './cli';
import { defaultIo, type Io } from './io';
import { ferryHome, findRunningServer } from './embedded-server';

/** Deterministic pseudo-random bytes (the demo data is the same on every machine). */
function bytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off, 0, Math.min(block.length, size - off));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** Writes the sample source tree (once) and returns the number of files and bytes. */
export function createSampleData(dir: string): { files: number; bytes: number } {
  const files: [string, number][] = [];
  for (let i = 0; i < 240; i++) files.push([`photos/${2020 + (i % 5)}/${String(i % 12 + 1).padStart(2, '0')}/IMG_${String(i).padStart(4, '0')}.jpg`, 2_000 + ((i * 7919) % 180_000)]);
  for (let i = 0; i < 40; i++) files.push([`docs/report ${i}.txt`, 500 + i * 61]);
  files.push(['docs/ünïcødé/日本語のファイル.txt', 1234], ['docs/plus+and%percent.txt', 321], ['empty.txt', 0], ['video/holiday.mp4', 24 * 1024 * 1024]);
  let total = 0;
  for (const [key, size] of files) {
    const p = join(dir, key);
    total += size;
    if (existsSync(p)) continue;
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, bytes(key, size));
  }
  return { files: files.length, bytes: total };
}

export async function runDemo(io: Io = defaultIo(), argv: readonly string[] = []): Promise<number> {
  const home = ferryHome(undefined, io.env);
  const demo = join(home, 'demo');
  const source = join(demo, 'source');
  const destination = join(demo, 'destination');
  io.out(`Ferry demo — data directory ${home}`);
  const sample = createSampleData(source);
  rmSync(destination, { recursive: true, force: true });
  mkdirSync(destination, { recursive: true });
  const jobFile = join(demo, 'demo.yaml');
  writeFileSync(
    jobFile,
    `# The demo job: copy a local folder to another one, verifying checksums. Try \`ferry plan ${jobFile}\`.\n` +
      stringify({
        name: 'demo',
        source: { type: 'fs', path: source },
        destination: { type: 'fs', path: destination },
        overwrite: 'if-different',
        verify: 'checksum',
        tasks: { maxObjects: 50 },
        concurrency: { tasks: 4, objects: 16 },
        multipart: { threshold: '8MiB', partSize: '4MiB' },
      }),
  );
  io.out(`Sample data: ${sample.files} files, ${(sample.bytes / 1024 / 1024).toFixed(1)} MiB in ${source}`);
  io.out(`Job file:    ${jobFile}\n`);
  io.out(`$ ferry run ${jobFile} --keep-server`);
  const code = await main(['run', jobFile, '--keep-server', ...argv], io);
  if (code !== 0 && code !== 1) return code;
  io.out(`\n$ ferry report demo`);
  await main(['report', 'demo', '--failures', '5'], io);
  const server = await findRunningServer(home, 2000).catch(() => undefined);
  io.out('');
  if (server) io.out(`Web UI (job ferry-demo): ${server.uiUrl}/namespaces/default/workflows/ferry-demo`);
  io.out('Next: run it again (nothing is copied twice), `ferry status demo`, `ferry plan ' + jobFile + '`, or edit the job file.');
  io.out('Stop the embedded Temporal server with `ferry server --stop` (npx ferry, or node dist/client/cli.js).');
  return code;
}

if (require.main === module) {
  runDemo(defaultIo(), process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      process.on('uncaughtException', () => process.exit(code));
      setTimeout(() => process.exit(code), 200).unref();
    },
    (e) => {
      process.stderr.write(`ferry demo: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
