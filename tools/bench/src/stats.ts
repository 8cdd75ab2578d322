/** Latency summaries for benchmark tables. */
export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samplesMs: number[]): Summary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const total = sorted.reduce((sum, v) => sum + v, 0);
  return {
    count: sorted.length,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? 0,
    mean: sorted.length ? total / sorted.length : 0,
  };
}

export function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const headers = Object.keys(rows[0] ?? {});
  const cells = rows.map((row) => headers.map((h) => String(row[h] ?? '')));
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === 0 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0)))
      .join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
}

/**
 * A latency histogram for millions of samples: fixed 20 µs buckets up to 2 s, exact beyond
 * (rare). Percentiles are the upper edge of their bucket, so they err high by < 20 µs.
 */
export class Histogram {
  private static readonly BUCKET_MS = 0.02;
  private static readonly BUCKETS = 100_000;
  private readonly counts = new Uint32Array(Histogram.BUCKETS);
  private readonly overflow: number[] = [];
  count = 0;
  max = 0;
  private total = 0;

  record(ms: number): void {
    const value = ms < 0 ? 0 : ms;
    const bucket = Math.floor(value / Histogram.BUCKET_MS);
    if (bucket < Histogram.BUCKETS) this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
    else this.overflow.push(value);
    this.count += 1;
    this.total += value;
    if (value > this.max) this.max = value;
  }

  /** The value below which a fraction `q` of the samples lie. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.min(this.count - 1, Math.floor(q * this.count));
    let seen = 0;
    for (let i = 0; i < Histogram.BUCKETS; i += 1) {
      seen += this.counts[i] ?? 0;
      if (seen > rank) return Math.min(this.max, (i + 1) * Histogram.BUCKET_MS);
    }
    const sorted = [...this.overflow].sort((a, b) => a - b);
    return sorted[rank - seen] ?? this.max;
  }

  summary(): Summary {
    return {
      count: this.count,
      p50: this.quantile(0.5),
      p99: this.quantile(0.99),
      max: this.max,
      mean: this.count ? this.total / this.count : 0,
    };
  }
}
