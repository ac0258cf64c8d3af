/** What callers and operators see of a job (`GET /hooks/jobs/:id`, sync answers, callbacks). */
import type { Job } from './queue/queue';

export interface JobView {
  id: string;
  flow: string;
  status: Job['state'];
  attempts: number;
  created_at: string;
  finished_at?: string;
  /** The flow's output: the schema-valid JSON of a JSON flow, else the text. */
  output?: unknown;
  model?: string;
  provider?: string;
  /** The last failure, while retrying or in the dead letters. */
  error?: string;
}

export function jobView(job: Job): JobView {
  const view: JobView = {
    id: job.id,
    flow: job.flow,
    status: job.state,
    attempts: job.attempts,
    created_at: new Date(job.createdAt).toISOString(),
  };
  if (job.finishedAt !== undefined) view.finished_at = new Date(job.finishedAt).toISOString();
  if (job.result && job.state === 'done') {
    view.output = job.result.json ?? job.result.text;
    view.model = job.result.model;
    view.provider = job.result.provider;
  }
  if (job.lastError && job.state !== 'done') view.error = job.lastError;
  return view;
}
