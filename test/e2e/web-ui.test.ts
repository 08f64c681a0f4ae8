/**
 * The Temporal Web UI in a real browser: `ferry server` (embedded dev server with the UI), a `ferry worker`
 * process, a job started with `ferry start`, and headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core) that opens the workflow list filtered by `FerryJob="<name>"`, opens the job, and finds its
 * summary, its details and the live current-details progress table. The screenshot goes to
 * test-output/web-ui.png (and to docs/web-ui.png with FERRY_UPDATE_DOCS_SCREENSHOT=1).
 *
 * Skipped only when /usr/bin/chromium is missing (CI installs it: `apt-get install -y chromium`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { Connection, Client } from '@temporalio/client';
import { spawnManaged, freePort, tempDir, waitUntil, httpOk, type ManagedProcess } from '../support/process';
import { spawnWorkerProcess, REPO_ROOT } from '../support/ferry';
import type { TemporalTestServer } from '../support/temporal';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(REPO_ROOT, 'test-output');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the Web UI finds the job by FerryJob and shows its summary and live progress', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)`, timeout: 240_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const work = tempDir('webui');
  const procs: ManagedProcess[] = [];
  let connection: Connection | undefined;
  try {
    const [port, uiPort] = [await freePort(), await freePort()];
    const cli = (args: string[]) => ['--import', 'tsx', join(REPO_ROOT, 'client', 'cli.ts'), ...args];
    const env = { FERRY_HOME: join(work, 'home'), NODE_NO_WARNINGS: '1' };
    const server = spawnManaged({ name: 'ferry-server', command: process.execPath, args: cli(['server', '--port', String(port), '--ui-port', String(uiPort)]), cwd: REPO_ROOT, env });
    procs.push(server);
    const address = `127.0.0.1:${port}`;
    await waitUntil(server, 'ferry server web ui', () => httpOk(`http://127.0.0.1:${uiPort}/`), 120_000);
    await waitUntil(server, 'ferry server frontend', async () => {
      const c = await Connection.connect({ address, connectTimeout: 1000 });
      await c.close();
      return true;
    });
    connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace: 'default' });

    const src = join(work, 'src');
    mkdirSync(src, { recursive: true });
    for (let i = 0; i < 2000; i++) writeFileSync(join(src, `photo-${String(i).padStart(4, '0')}.jpg`), `pixels ${i}`);
    const name = 'web-ui-demo';
    const jobFile = join(work, 'job.yaml');
    writeFileSync(jobFile, toYaml({ name, source: { type: 'fs', path: src }, destination: { type: 'fs', path: join(work, 'dst') }, tasks: { maxObjects: 250 }, concurrency: { tasks: 4 }, throttle: { objectsPerSecond: 30 }, verify: 'size' }));
    procs.push(spawnWorkerProcess({ address, namespace: 'default' } as TemporalTestServer, { FERRY_WORKER_IDENTITY: 'ui-worker', FERRY_REPORT_DIR: join(work, 'reports') }, 'ui-worker'));
    const started = spawnSync(process.execPath, cli(['start', jobFile, '--address', address, '--json']), { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
    assert.equal(started.status, 0, started.stderr);
    // Running and past planning: the current details have numbers to show.
    const handle = client.workflow.getHandle(`ferry-${name}`);
    for (let i = 0; i < 600; i++) {
      const p = await handle.query<{ objects: { copied: number; listed: number } }>('progress').catch(() => undefined);
      if (p && p.objects.listed === 2000 && p.objects.copied > 0) break;
      await sleep(200);
    }

    const browser = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 860 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const query = `FerryJob="${name}"`;
      await page.goto(`http://127.0.0.1:${uiPort}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
      const link = page.getByRole('link', { name: `ferry-${name}`, exact: true });
      await link.first().waitFor({ timeout: 60_000 });
      // Only the job itself carries FerryJob (its task children are found through it).
      assert.equal(await link.count(), 1);
      assert.match(await page.locator('main').innerText(), /migrationJob/);
      await link.first().click();
      await page.getByRole('tab', { name: 'User Metadata' }).or(page.getByText('User Metadata', { exact: true })).first().click();
      // The UI renders Markdown (summary, details, current details) in sandboxed frames: read every frame's text.
      const pageText = async () => (await Promise.all(page.frames().map((f) => f.locator('body').innerText({ timeout: 2000 }).catch(() => '')))).join('\n');
      let text = '';
      try {
        await page.getByText('Current Details').first().waitFor({ timeout: 30_000 });
        for (let i = 0; i < 150 && !/— copying[\s\S]*listed\s+2000/.test(text); i++) {
          await sleep(200);
          text = await pageText();
        }
        assert.match(text, /— copying/, 'the live current details (phase)');
      } catch (e) {
        mkdirSync(OUT, { recursive: true });
        await page.screenshot({ path: join(OUT, 'web-ui-failure.png') });
        throw e;
      }
      assert.match(text, new RegExp(`${name}: copy fs:${src.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} → fs:`), 'the one-line summary');
      assert.match(text, /overwrite\s+if-different/, 'the static details table');
      for (const row of ['listed', 'copied', 'skipped', 'failed', 'verified']) assert.match(text, new RegExp(`${row}\\s+\\d+`), `current details row "${row}"`);
      assert.match(text, /listed\s+2000/);
      assert.match(text, /tasks \d+[/\u2044]8 done/, "tasks line (the UI typesets 4/8 with a fraction slash)");
      mkdirSync(OUT, { recursive: true });
      const shot = join(OUT, 'web-ui.png');
      await page.screenshot({ path: shot });
      assert.ok(readFileSync(shot).subarray(1, 4).toString() === 'PNG');
      if (process.env.FERRY_UPDATE_DOCS_SCREENSHOT === '1') copyFileSync(shot, join(REPO_ROOT, 'docs', 'web-ui.png'));
    } finally {
      await browser.close();
    }
    await handle.terminate('web UI test done');
  } finally {
    await connection?.close().catch(() => undefined);
    for (const p of procs.reverse()) await p.stop();
    rmSync(work, { recursive: true, force: true });
  }
});
