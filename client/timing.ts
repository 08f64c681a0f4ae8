/** Phase timings of a command on stderr when FERRY_TIMING=1 (milliseconds since the process started). */
const enabled = process.env.FERRY_TIMING === '1';

export function mark(phase: string): void {
  if (enabled) process.stderr.write(`[timing] ${performance.now().toFixed(0).padStart(6)} ms  ${phase}\n`);
}
