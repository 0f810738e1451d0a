/**
 * A small terminal for tests that drive the CLI in a pseudo-terminal (`script` from util-linux): it applies what
 * listr2 / log-update write (text, CR, LF, cursor up/down/column, erase in line/display; colours ignored) to a
 * screen of lines without a height limit, and keeps a timed snapshot of the screen after each chunk of output.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Frame {
  /** ms since the command started */
  readonly at: number;
  readonly lines: readonly string[];
}

const ESC = String.fromCharCode(27);
/** A CSI sequence: ESC [ params letter. */
const CSI = new RegExp(`^${ESC}\\[([?0-9;]*)([A-Za-z])`);
/** ESC and one character that is not `[`: a two-character escape. */
const SHORT = new RegExp(`^${ESC}[^[]`);

export class Screen {
  lines: string[] = [''];
  private row = 0;
  private col = 0;
  private pending = '';

  write(data: string): void {
    const s = this.pending + data;
    this.pending = '';
    for (let i = 0; i < s.length; i++) {
      const ch = s[i] as string;
      if (ch === ESC) {
        const rest = s.slice(i);
        const csi = CSI.exec(rest);
        if (!csi) {
          if (rest.length < 16 && !SHORT.test(rest)) {
            this.pending = rest; // a sequence cut by the chunk
            return;
          }
          i += 1; // a two-character escape
          continue;
        }
        this.csi(csi[1] ?? '', csi[2] ?? '');
        i += csi[0].length - 1;
      } else if (ch === '\r') this.col = 0;
      else if (ch === '\n') this.move(this.row + 1);
      else if (ch >= ' ' || ch === '\t') this.put(ch);
    }
  }

  private move(row: number): void {
    this.row = Math.max(0, row);
    while (this.lines.length <= this.row) this.lines.push('');
  }

  private put(ch: string): void {
    const line = this.lines[this.row] ?? '';
    const padded = line.length < this.col ? line.padEnd(this.col) : line;
    this.lines[this.row] = padded.slice(0, this.col) + ch + padded.slice(this.col + 1);
    this.col++;
  }

  private csi(params: string, op: string): void {
    if (params.startsWith('?')) return; // cursor shown/hidden
    const n = params === '' ? 1 : Number(params.split(';')[0]);
    const line = this.lines[this.row] ?? '';
    switch (op) {
      case 'A':
        this.move(this.row - n);
        break;
      case 'B':
        this.move(this.row + n);
        break;
      case 'G':
        this.col = Math.max(0, n - 1);
        break;
      case 'K': {
        const mode = params === '' ? 0 : n;
        if (mode === 2) this.lines[this.row] = '';
        else if (mode === 0) this.lines[this.row] = line.slice(0, this.col);
        else this.lines[this.row] = ' '.repeat(this.col) + line.slice(this.col);
        break;
      }
      case 'J':
        if (params === '' || n === 0) {
          this.lines[this.row] = line.slice(0, this.col);
          this.lines.length = this.row + 1;
        }
        break;
      default:
        break; // colours (m) and the rest: no effect on the text
    }
  }

  /** The screen's text, trailing empty lines left out. */
  text(): string[] {
    const out = this.lines.map((l) => l.trimEnd());
    while (out.length > 0 && out[out.length - 1] === '') out.pop();
    return out;
  }
}

export function scriptAvailable(): boolean {
  return existsSync('/usr/bin/script') || existsSync('/bin/script');
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface PtyRun {
  readonly status: number | null;
  readonly screen: Screen;
  readonly frames: readonly Frame[];
  /** Everything written, escapes included. */
  readonly raw: string;
}

/**
 * Runs `argv` in a pseudo-terminal of `cols` x `rows` (util-linux `script -qfec`, which flushes every write), with
 * only the given environment (no CI): the CLI sees a terminal on stdin, stdout and stderr.
 */
export function runInPty(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  opts: { cols?: number; rows?: number; onFrame?: (f: Frame) => void } = {},
): Promise<PtyRun> {
  const command = `stty cols ${opts.cols ?? 160} rows ${opts.rows ?? 60}; exec ${argv.map(shellQuote).join(' ')}`;
  const screen = new Screen();
  const frames: Frame[] = [];
  let raw = '';
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm-256color', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // a frame is the screen once a burst of output has ended (the pty splits one large write into several reads)
    let settle: NodeJS.Timeout | undefined;
    let at = 0;
    const snapshot = (): void => {
      settle = undefined;
      const f = { at, lines: screen.text() };
      frames.push(f);
      opts.onFrame?.(f);
    };
    child.stdout.setEncoding('utf8'); // a character cut between two chunks is decoded whole
    child.stdout.on('data', (text: string) => {
      raw += text;
      screen.write(text);
      at = Date.now() - started;
      if (settle) clearTimeout(settle);
      settle = setTimeout(snapshot, 15);
    });
    child.stderr.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => {
      if (settle) {
        clearTimeout(settle);
        snapshot();
      }
      resolve({ status, screen, frames, raw });
    });
  });
}
