/**
 * CPU time of this process between two wall-clock instants that another process reports
 * afterwards (the ingest worker's window start and drain end): this process's CPU time is
 * sampled every `everyMs` and interpolated at those instants.
 */

/** A running sampler. */
export interface OwnCpuSampler {
  /** CPU seconds (user + system) used between two epoch-ms instants inside the sampled span. */
  between(fromMs: number, toMs: number): number;
  stop(): void;
}

interface Sample {
  readonly at: number;
  readonly cpuUs: number;
}

const cpuNowUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Starts sampling now. */
export function sampleOwnCpu(everyMs = 100): OwnCpuSampler {
  const samples: Sample[] = [{ at: Date.now(), cpuUs: cpuNowUs() }];
  const timer = setInterval(() => samples.push({ at: Date.now(), cpuUs: cpuNowUs() }), everyMs);
  /** CPU µs at `t`, linear between the samples around it (clamped to the sampled span). */
  const at = (t: number): number => {
    const last = samples[samples.length - 1]!;
    if (t >= last.at) return last.cpuUs;
    const i = samples.findIndex((s) => s.at > t);
    if (i <= 0) return samples[0]!.cpuUs;
    const a = samples[i - 1]!;
    const b = samples[i]!;
    return a.cpuUs + ((b.cpuUs - a.cpuUs) * (t - a.at)) / Math.max(1, b.at - a.at);
  };
  return {
    between: (fromMs, toMs) => (at(toMs) - at(fromMs)) / 1e6,
    stop: () => {
      clearInterval(timer);
      samples.push({ at: Date.now(), cpuUs: cpuNowUs() });
    },
  };
}
