/** Output of the demo and the CLI: colour and a live status line on a terminal, plain lines elsewhere (CI logs, tests). */
export type Terminal = {
  tty: boolean;
  /** A permanent line (clears the live status line first). */
  line(text: string): void;
  /** The live status line: rewritten in place on a terminal, not shown elsewhere. */
  status(text: string): void;
  green(text: string): string;
  red(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
};

export function terminal(out: NodeJS.WriteStream = process.stdout): Terminal {
  const tty = Boolean(out.isTTY) && !process.env.NO_COLOR;
  const paint = (code: string) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
  let live = false;
  const clear = () => {
    if (live) out.write('\r\x1b[K');
    live = false;
  };
  return {
    tty,
    line(text) {
      clear();
      out.write(`${text}\n`);
    },
    status(text) {
      if (!tty) return;
      clear();
      out.write(text.slice(0, (out.columns || 120) - 1));
      live = true;
    },
    green: paint('32'),
    red: paint('31'),
    dim: paint('2'),
    bold: paint('1'),
  };
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
