// Progress for long jobs (imports, generation, benchmarks): a bar on a terminal, a line every few
// seconds otherwise (CI logs), nothing when quiet. Written to stderr so stdout stays data.
export interface Progress {
  /** Sets the count done so far. */
  update(done: number): void;
  /** Ends the bar with a closing note. */
  done(note?: string): void;
}

export function progress(label: string, total?: number, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const out = opts.stream ?? process.stderr;
  if (opts.quiet) return { update() {}, done() {} };
  const start = Date.now();
  let last = start;
  let current = 0;
  const tty = Boolean(out.isTTY);
  const render = (final = false) => {
    const secs = (Date.now() - start) / 1000;
    const rate = secs > 0 ? Math.round(current / secs) : 0;
    const pct = total ? Math.min(100, (100 * current) / total) : undefined;
    const bar = pct === undefined ? '' : `[${'#'.repeat(Math.round(pct / 4)).padEnd(25, '.')}] ${pct.toFixed(0).padStart(3)}% `;
    const text = `${label} ${bar}${current.toLocaleString('en')}${total ? '/' + total.toLocaleString('en') : ''} (${rate.toLocaleString('en')}/s, ${secs.toFixed(1)} s)`;
    if (tty) out.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
    else out.write(text + '\n');
  };
  return {
    update(done) {
      current = done;
      const now = Date.now();
      if (now - last > (tty ? 100 : 3000)) {
        last = now;
        render();
      }
    },
    done(note) {
      render(true);
      if (note) out.write(`${label}: ${note}\n`);
    },
  };
}
