import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowRecorder, type RecorderStop } from '../../src/cluster/flow-recorder';

/** A record line as an agent might send it: extra fields, unusual spacing and characters included. */
function line(i: number, pad = 0): string {
  return `{"v":1,"start":"2026-11-21T10:00:00.123456789Z","end":"2026-11-21T10:00:05Z","node":"node-é","protocol":"TCP","client":{"ip":"10.0.0.${i % 250}"},"server":{"ip":"10.0.1.1","port":80},"observedAt":"client","bytesToServer":${i},"bytesToClient":0,"packetsToServer":1,"packetsToClient":1,"connections":1,"retransmits":0,"rto":0,"rttUs":1.0e2,"resets":0,"failedConnections":0,  "future":{"x":"\\u2028${'p'.repeat(pad)}"}}`;
}

suite('flow recorder', () => {
  let dir: string;
  setup(() => (dir = mkdtempSync(join(tmpdir(), 'flowlens-recorder-'))));
  teardown(() => rmSync(dir, { recursive: true, force: true }));

  test('writes every line exactly as given, one per line, and counts records and bytes', async () => {
    const path = join(dir, 'a.flows.jsonl');
    const recorder = await FlowRecorder.open(path, { maxBytes: 1 << 20 });
    const lines = Array.from({ length: 200 }, (_, i) => line(i));
    for (const l of lines) {
      assert.equal(recorder.write(l), true);
    }
    const summary = await recorder.close();
    const expected = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
    assert.deepEqual(readFileSync(path), expected);
    assert.deepEqual(summary, { records: 200, bytes: expected.length, stopped: undefined });
    assert.equal(recorder.records, 200);
    assert.equal(recorder.bytes, statSync(path).size);
    // Closing again is harmless; writing after close records nothing.
    assert.deepEqual(await recorder.close(), summary);
    assert.equal(recorder.write(line(1)), false);
    assert.throws(() => recorder.write('{"v":1}\n{"v":1}'), /must not contain a line break/);
  });

  test('close() waits until everything written is on disk', async () => {
    const path = join(dir, 'big.flows.jsonl');
    const recorder = await FlowRecorder.open(path, { maxBytes: 64 << 20 });
    // Several MiB written in one go, then closed at once: nothing may be lost in the stream's buffer.
    for (let i = 0; i < 20_000; i++) {
      recorder.write(line(i, 100));
    }
    const { bytes, records } = await recorder.close();
    assert.equal(records, 20_000);
    assert.ok(bytes > 4 << 20);
    assert.equal(statSync(path).size, bytes);
    const text = readFileSync(path, 'utf8');
    assert.ok(text.endsWith('}\n'));
    assert.equal(text.split('\n').length - 1, 20_000);
  });

  test('stops at the size limit with a reason, keeping whole lines below the limit', async () => {
    const path = join(dir, 'limited.flows.jsonl');
    const stops: RecorderStop[] = [];
    const size = Buffer.byteLength(line(1)) + 1;
    const maxBytes = size * 3 + Math.floor(size / 2);
    const recorder = await FlowRecorder.open(path, { maxBytes, onStop: (s) => stops.push(s) });
    assert.deepEqual([1, 2, 3, 4, 5].map((i) => recorder.write(line(i))), [true, true, true, false, false]);
    const expected = { reason: 'size-limit', message: `${path} reached the size limit of ${maxBytes} bytes` };
    assert.deepEqual(stops, [expected]);
    assert.deepEqual(await recorder.close(), { records: 3, bytes: size * 3, stopped: expected });
    assert.equal(readFileSync(path, 'utf8'), [1, 2, 3].map((i) => `${line(i)}\n`).join(''));
  });

  test('an existing file is refused unless replacing it is asked for; a missing directory is named', async () => {
    const path = join(dir, 'exists.flows.jsonl');
    writeFileSync(path, 'old\n');
    await assert.rejects(FlowRecorder.open(path, { maxBytes: 1000 }), { message: `cannot create ${path}: the file exists` });
    assert.equal(readFileSync(path, 'utf8'), 'old\n');
    const recorder = await FlowRecorder.open(path, { maxBytes: 1000, overwrite: true });
    recorder.write('{}');
    await recorder.close();
    assert.equal(readFileSync(path, 'utf8'), '{}\n');
    const nowhere = join(dir, 'no', 'such', 'x.flows.jsonl');
    await assert.rejects(FlowRecorder.open(nowhere, { maxBytes: 1000 }), { message: `cannot create ${nowhere}: no such directory` });
    assert.equal(existsSync(join(dir, 'no')), false);
  });

  test('a full disk stops the recording with the reason', async () => {
    const stops: RecorderStop[] = [];
    // /dev/full accepts the open and fails every write with ENOSPC, as a full disk does.
    const recorder = await FlowRecorder.open('/dev/full', { maxBytes: 1 << 20, overwrite: true, onStop: (s) => stops.push(s) });
    recorder.write(line(1));
    const summary = await recorder.close();
    assert.deepEqual(stops, [{ reason: 'write-error', message: 'cannot write /dev/full: no space left on the device' }]);
    assert.deepEqual(summary.stopped, stops[0]);
    assert.equal(recorder.write(line(2)), false);
  });

  test('a disk slower than the stream: memory stays bounded and the recording stops with the reason', async () => {
    // A FIFO nobody reads from is a disk that takes nothing once the pipe's buffer is full.
    const fifo = join(dir, 'slow.flows.jsonl');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const stops: RecorderStop[] = [];
      const maxPendingBytes = 256 * 1024;
      const recorder = await FlowRecorder.open(fifo, { maxBytes: 64 << 20, overwrite: true, maxPendingBytes, onStop: (s) => stops.push(s) });
      let accepted = 0;
      for (let i = 0; i < 10_000 && recorder.write(line(i, 3000)); i++) {
        accepted++;
        // Batches arrive over time, as windows do: give the writer every chance to drain.
        if (i % 10 === 0) {
          await new Promise((r) => setTimeout(r, 1));
        }
      }
      assert.deepEqual(stops, [{ reason: 'too-slow', message: `writing ${fifo} cannot keep up with the flow stream (256 KiB waiting for the disk)` }]);
      // Accepted at most: what the pipe holds, the write in flight and what waits (each at most the bound).
      const size = Buffer.byteLength(line(0, 3000)) + 1;
      assert.ok(accepted * size <= 64 * 1024 + 2 * maxPendingBytes + size, `${accepted} lines accepted`);
      // Reading unblocks the writer: everything accepted arrives, in whole lines.
      const closed = recorder.close();
      let done = false;
      void closed.then(() => (done = true));
      const chunks: Buffer[] = [];
      const buffer = Buffer.alloc(1 << 16);
      for (;;) {
        let n: number;
        try {
          n = readSync(reader, buffer, 0, buffer.length, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
            throw e;
          }
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        if (n === 0 && done) {
          break;
        }
        chunks.push(Buffer.from(buffer.subarray(0, n)));
        if (n === 0) {
          await new Promise((r) => setTimeout(r, 2));
        }
      }
      const text = Buffer.concat(chunks).toString('utf8');
      assert.equal(text, Array.from({ length: accepted }, (_, i) => `${line(i, 3000)}\n`).join(''));
      assert.equal((await closed).records, accepted);
    } finally {
      closeSync(reader);
    }
  });
});
