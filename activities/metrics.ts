/**
 * Ferry's own worker metrics (process-wide): objects and bytes copied, failures by error class, throttling
 * events, transfers in flight. Activities update them through `ferryMetrics`; `renderPrometheus()` writes
 * them in the Prometheus text exposition format (served by workers/metrics-server.ts next to the SDK's).
 *
 * Counters count work done by this worker process: a batch retried elsewhere after a crash counts again on
 * the worker that redoes it (the job's own counters, from the workflow, are exact).
 */

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, number>;
}

/** A tiny registry of counters and gauges with optional labels. */
export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  private family(name: string, type: Family['type'], help: string): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { help, type, values: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  /** Declares a metric so it is rendered (as 0) before its first update. */
  declare(name: string, type: Family['type'], help: string): void {
    const f = this.family(name, type, help);
    if (!f.values.size) f.values.set('', 0);
  }

  /** Adds `n` (may be negative for gauges) to the series with these labels. */
  add(name: string, n: number, labels: Record<string, string> = {}): void {
    const f = this.families.get(name);
    if (!f) throw new Error(`metric ${name} is not declared`);
    const key = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
      .join(',');
    if (key && f.values.get('') === 0) f.values.delete('');
    f.values.set(key, (f.values.get(key) ?? 0) + n);
  }

  /** The current value of one series (tests). */
  value(name: string, labels = ''): number {
    return this.families.get(name)?.values.get(labels) ?? 0;
  }

  /** Prometheus text format 0.0.4. */
  renderPrometheus(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const [labels, v] of f.values) out.push(`${name}${labels ? `{${labels}}` : ''} ${v}`);
    }
    return out.join('\n') + '\n';
  }
}

/** Metric names, in one place. */
export const FerryMetric = {
  objectsCopied: 'ferry_objects_copied_total',
  bytesCopied: 'ferry_bytes_copied_total',
  objectsSkipped: 'ferry_objects_skipped_total',
  failures: 'ferry_object_failures_total',
  throttleEvents: 'ferry_throttle_events_total',
  transfersInFlight: 'ferry_transfers_in_flight',
  batchesInFlight: 'ferry_batches_in_flight',
} as const;

function createFerryMetrics(): MetricsRegistry {
  const r = new MetricsRegistry();
  r.declare(FerryMetric.objectsCopied, 'counter', 'Objects copied by this worker');
  r.declare(FerryMetric.bytesCopied, 'counter', 'Bytes copied by this worker');
  r.declare(FerryMetric.objectsSkipped, 'counter', 'Objects found already in place (overwrite policy) by this worker');
  r.declare(FerryMetric.failures, 'counter', 'Objects that failed after their retries, by error class');
  r.declare(FerryMetric.throttleEvents, 'counter', 'Throttling answers (503 SlowDown and the like) from a storage service');
  r.declare(FerryMetric.transfersInFlight, 'gauge', 'Object transfers in progress on this worker');
  r.declare(FerryMetric.batchesInFlight, 'gauge', 'Copy batches (activities) in progress on this worker');
  return r;
}

/** The process-wide registry the activities update. */
export const ferryMetrics = createFerryMetrics();
