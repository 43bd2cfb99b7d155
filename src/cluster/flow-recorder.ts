/**
 * Writes a `.flows.jsonl` recording: one flow record v1 per line, each line exactly the JSON text the
 * agent sent (fields this version does not know survive). The flow stream cannot be paused, so lines
 * the disk has not taken yet wait in memory, up to a bound; past it, or past the size limit, or on a
 * write error, the recording stops with a reason instead of growing without end or filling the disk.
 * The file always ends with a whole line.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export interface RecorderStop {
  readonly reason: 'size-limit' | 'too-slow' | 'write-error';
  /** For people: what happened, with the file and the limit. */
  readonly message: string;
}

export interface FlowRecorderOptions {
  /** The file never grows beyond this many bytes. */
  readonly maxBytes: number;
  /** Replace an existing file; by default an existing file is an error (a recording is never appended to by accident). */
  readonly overwrite?: boolean;
  /** Bytes that may wait for the disk (default 16 MiB). */
  readonly maxPendingBytes?: number;
  /** Called once when the recording stops by itself. */
  readonly onStop?: (stop: RecorderStop) => void;
}

export interface RecorderSummary {
  readonly records: number;
  readonly bytes: number;
  readonly stopped?: RecorderStop;
}

const DEFAULT_MAX_PENDING = 16 * 1024 * 1024;

export class FlowRecorder {
  private recordCount = 0;
  private byteCount = 0;
  private stop?: RecorderStop;
  private closing?: Promise<RecorderSummary>;

  private constructor(
    readonly path: string,
    private readonly stream: WriteStream,
    private readonly options: FlowRecorderOptions,
  ) {
    stream.on('error', (e) => this.halt('write-error', `cannot write ${path}: ${describeWriteError(e)}`));
  }

  /** Creates the file; rejects when it cannot (exists, no such directory, no permission). */
  static open(path: string, options: FlowRecorderOptions): Promise<FlowRecorder> {
    const stream = createWriteStream(path, { flags: options.overwrite ? 'w' : 'wx' });
    return new Promise((resolve, reject) => {
      stream.once('error', (e) => reject(new Error(`cannot create ${path}: ${describeWriteError(e)}`)));
      stream.once('ready', () => {
        stream.removeAllListeners('error');
        resolve(new FlowRecorder(path, stream, options));
      });
    });
  }

  get records(): number {
    return this.recordCount;
  }

  /** Bytes accepted (the file's size once closed). */
  get bytes(): number {
    return this.byteCount;
  }

  get stopped(): RecorderStop | undefined {
    return this.stop;
  }

  /**
   * Appends one record: its JSON text, without the line break. False when the recording has stopped
   * (or stops now, because this line would cross a limit): the line is not recorded.
   */
  write(line: string): boolean {
    if (line.includes('\n')) {
      throw new Error('a flow record line must not contain a line break');
    }
    if (this.stop || this.closing) {
      return false;
    }
    const size = Buffer.byteLength(line) + 1;
    if (this.byteCount + size > this.options.maxBytes) {
      this.halt('size-limit', `${this.path} reached the size limit of ${describeSize(this.options.maxBytes)}`);
      return false;
    }
    const maxPending = this.options.maxPendingBytes ?? DEFAULT_MAX_PENDING;
    if (this.stream.writableLength + size > maxPending) {
      this.halt('too-slow', `writing ${this.path} cannot keep up with the flow stream (${describeSize(maxPending)} waiting for the disk)`);
      return false;
    }
    this.stream.write(`${line}\n`);
    this.recordCount++;
    this.byteCount += size;
    return true;
  }

  /** Writes what is pending and closes the file; safe to call more than once. */
  close(): Promise<RecorderSummary> {
    this.closing ??= new Promise((resolve) => {
      const done = () => resolve({ records: this.recordCount, bytes: this.byteCount, stopped: this.stop });
      if (this.stream.destroyed) {
        done();
        return;
      }
      // 'close' follows both a clean end and a failed one (whose error halt() has recorded).
      this.stream.once('close', done);
      this.stream.end();
    });
    return this.closing;
  }

  private halt(reason: RecorderStop['reason'], message: string): void {
    if (this.stop) {
      return;
    }
    this.stop = { reason, message };
    this.options.onStop?.(this.stop);
  }
}

function describeSize(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

function describeWriteError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'EEXIST':
      return 'the file exists';
    case 'ENOENT':
      return 'no such directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return e.message;
  }
}
