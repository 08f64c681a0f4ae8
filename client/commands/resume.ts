/** `ferry resume JOB`: the `resume` signal — a paused job continues where it stopped. */
import type { CliOptions } from '../cli';
import type { Io } from '../io';
import { sendControlSignal } from './pause';

export function resumeCommand(opts: CliOptions, io: Io): Promise<number> {
  return sendControlSignal(opts, io, 'resume');
}
