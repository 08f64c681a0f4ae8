/** `ferry start JOB.yaml`: start the job on a cluster (workers elsewhere) and print its workflow id. */
import type { CliOptions } from '../cli';
import { info, type Io } from '../io';
import { readJobFile } from '../job-file';
import { startOrAttach } from '../jobs';
import { withSession } from '../runner';
import { ExitCode } from '../errors';
import { jobWorkflowId } from '../../common/job';

export async function startCommand(opts: CliOptions, io: Io): Promise<number> {
  const spec = readJobFile(opts.job!);
  const say = info(io, opts.json);
  return withSession(opts, io, 'connect', async (s) => {
    const { started, runId } = await startOrAttach(s.client, spec, s.settings.taskQueue);
    const workflowId = jobWorkflowId(spec.name);
    if (opts.json) {
      io.out(JSON.stringify({ workflowId, runId, started, address: s.settings.address, namespace: s.settings.namespace, taskQueue: s.settings.taskQueue }, null, 2));
    } else {
      say(started ? `Started ${workflowId} (run ${runId}) on ${s.settings.address}, namespace ${s.settings.namespace}, task queue ${s.settings.taskQueue}.` : `${workflowId} is already running (run ${runId}); nothing started.`);
      say(`Follow it with \`ferry watch ${spec.name}\`; workers: \`ferry worker\` on any machine that reaches ${s.settings.address}.`);
      if (s.embedded) say(`Web UI: ${s.embedded.uiUrl}`);
    }
    return ExitCode.ok;
  });
}
