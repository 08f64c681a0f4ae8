/**
 * `ferry server`: the embedded Temporal dev server (SQLite under the data directory, Web UI, Ferry's search
 * attributes) in the foreground until SIGINT/SIGTERM; `--stop` stops one left running in the background.
 */
import type { CliOptions } from '../cli';
import { info, type Io } from '../io';
import { ferryHome, findRunningServer, startEmbeddedServer, stopEmbeddedServer } from '../embedded-server';
import { ExitCode, ServerUnreachableError } from '../errors';

export async function serverCommand(opts: CliOptions, io: Io): Promise<number> {
  const say = info(io, opts.json);
  const dataDir = ferryHome(opts.dataDir, io.env);
  if (opts.stop) {
    const stopped = await stopEmbeddedServer(dataDir);
    if (opts.json) io.out(JSON.stringify({ stopped: !!stopped, pid: stopped?.pid, dataDir }, null, 2));
    else say(stopped ? `Stopped the embedded Temporal server (pid ${stopped.pid}) of ${dataDir}.` : `No embedded Temporal server is running for ${dataDir}.`);
    return ExitCode.ok;
  }
  const running = await findRunningServer(dataDir);
  if (running) {
    if (opts.json) io.out(JSON.stringify({ address: running.address, namespace: running.namespace, uiUrl: running.uiUrl, pid: running.pid, reused: true }, null, 2));
    else say(`The embedded Temporal server of ${dataDir} is already running (pid ${running.pid}) at ${running.address} — Web UI ${running.uiUrl}. Stop it with \`ferry server --stop\`.`);
    return ExitCode.ok;
  }
  const server = await startEmbeddedServer({ dataDir, port: opts.port, uiPort: opts.uiPort, env: io.env, log: (l) => io.err(l) });
  if (opts.json) io.out(JSON.stringify({ address: server.address, namespace: server.namespace, uiUrl: server.uiUrl, pid: server.pid, dbFile: server.dbFile, reused: false }, null, 2));
  else {
    say(`Temporal dev server (pid ${server.pid}) listening on ${server.address}, namespace ${server.namespace}`);
    say(`Web UI:   ${server.uiUrl}`);
    say(`Database: ${server.dbFile}   Log: ${server.logFile}`);
    say(`Workers:  ferry worker --address ${server.address}      Jobs: ferry start JOB.yaml --address ${server.address}`);
    say('Press Ctrl-C to stop.');
  }
  const child = server.child!;
  child.ref(); // the foreground server command lives as long as the server
  const exited = new Promise<number | string | null>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r(child.exitCode ?? child.signalCode);
    else child.once('exit', (code, signal) => r(code ?? signal));
  });
  let unsubscribe: () => void = () => undefined;
  const signalled = new Promise<string>((r) => {
    unsubscribe = io.onSignal((s) => r(s));
  });
  const why = await Promise.race([exited.then((c) => ({ exited: c })), signalled.then((s) => ({ signal: s }))]);
  unsubscribe();
  if ('signal' in why) {
    io.err(`${why.signal}: stopping the Temporal server (pid ${server.pid})…`);
    await server.stop();
    io.err('Stopped.');
    return ExitCode.ok;
  }
  await server.stop();
  throw new ServerUnreachableError(`the Temporal server exited unexpectedly (${String(why.exited)}): see ${server.logFile}`);
}
