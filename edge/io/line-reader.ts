import { createReadStream, type ReadStream } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';

/**
 * A JSON-lines file read one line at a time, with the current line held so that several files can
 * be merged by their heads. Lines are parsed by `parse`, which returns null for a line it refused
 * (and has counted): such lines are skipped. Nothing is read before it is asked for.
 */
export class LineReader<T> {
  private readonly input: ReadStream;
  private readonly rl: Interface;
  private readonly lines: AsyncIterator<string>;
  private lineNo = 0;
  private current: T | null = null;
  private ended = false;

  constructor(
    readonly path: string,
    private readonly parse: (line: string, lineNo: number) => T | null,
  ) {
    this.input = createReadStream(path);
    this.rl = createInterface({ input: this.input, crlfDelay: Number.POSITIVE_INFINITY });
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  /** The current line, reading the next when there is none; null at the end of the file. */
  async head(): Promise<T | null> {
    while (this.current === null && !this.ended) {
      const r = await this.lines.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      this.lineNo += 1;
      if (r.value.trim() === '') continue;
      this.current = this.parse(r.value, this.lineNo);
    }
    return this.current;
  }

  /** The current line, already read (null when none is held). */
  peeked(): T | null {
    return this.current;
  }

  /** Done with the current line. */
  advance(): void {
    this.current = null;
  }

  /** Stops reading and lets the file go (readline's close alone keeps the stream open). */
  close(): void {
    this.rl.close();
    this.input.destroy();
  }
}
