/** burrowd's log: one line per event on stderr, which systemd's journal (or a test) collects. */
export interface Log {
  info(message: string): void;
  debug(message: string): void;
  error(message: string): void;
}

export function stderrLog(verbose: boolean): Log {
  const write = (level: string, message: string) => process.stderr.write(`burrowd ${level}: ${message}\n`);
  return {
    info: (m) => write('info', m),
    debug: (m) => {
      if (verbose) write('debug', m);
    },
    error: (m) => write('error', m),
  };
}
