/** The CLI's window on the process: output streams, terminal facts, environment, signals. Replaceable in tests. */

export interface Io {
  /** A line (or lines) on stdout. */
  out(text: string): void;
  /** A line (or lines) on stderr. */
  err(text: string): void;
  /** Raw writes without a newline (the live progress line). */
  rawOut(text: string): void;
  rawErr(text: string): void;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Terminal width. */
  columns(): number;
  env: NodeJS.ProcessEnv;
  now(): number;
  /** Subscribes to SIGINT/SIGTERM; returns the unsubscribe function. */
  onSignal(handler: (signal: 'SIGINT' | 'SIGTERM') => void): () => void;
}

/** Human messages: stdout normally, stderr when stdout carries `--json`. */
export function info(io: Io, json: boolean | undefined): (text: string) => void {
  return json ? (t) => io.err(t) : (t) => io.out(t);
}

/** Where live progress goes: stdout, or stderr with `--json` (stdout then holds only the JSON document). */
export function progressSink(io: Io, json: boolean | undefined): { write(raw: string): void; line(text: string): void; isTTY: boolean } {
  return json
    ? { write: (t) => io.rawErr(t), line: (t) => io.err(t), isTTY: io.stderrIsTTY }
    : { write: (t) => io.rawOut(t), line: (t) => io.out(t), isTTY: io.stdoutIsTTY };
}

/** The real process. */
export function defaultIo(): Io {
  return {
    out: (t) => void process.stdout.write(`${t}\n`),
    err: (t) => void process.stderr.write(`${t}\n`),
    rawOut: (t) => void process.stdout.write(t),
    rawErr: (t) => void process.stderr.write(t),
    stdoutIsTTY: !!process.stdout.isTTY,
    stderrIsTTY: !!process.stderr.isTTY,
    columns: () => process.stdout.columns || process.stderr.columns || 100,
    env: process.env,
    now: () => Date.now(),
    onSignal(handler) {
      const onInt = () => handler('SIGINT');
      const onTerm = () => handler('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      return () => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      };
    },
  };
}
