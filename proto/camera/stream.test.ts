import { describe, expect, it } from 'vitest';
import { MjpegReader, partHeader } from './stream.ts';

/** A JPEG as far as the reader looks: SOI, some bytes, EOI. */
const jpeg = (n: number) => Buffer.from([0xff, 0xd8, n & 0xff, (n >> 8) & 0xff, 0xff, 0xd9]);
const part = (frameIndex: number) => {
  const frame = { jpeg: jpeg(frameIndex), captureTsMs: 1_000 + frameIndex, frameIndex };
  return Buffer.concat([partHeader(frame), frame.jpeg, Buffer.from('\r\n')]);
};
const rawPart = (headers: string, body: Buffer) =>
  Buffer.concat([Buffer.from(`--walkoutframe\r\n${headers}\r\n\r\n`), body, Buffer.from('\r\n')]);

/** Feeds `stream` in chunks of `size` bytes; returns the frame indexes read and the reasons skipped. */
function read(stream: Buffer, size: number) {
  const skipped: string[] = [];
  const reader = new MjpegReader({ onMalformed: (r) => skipped.push(r) });
  const got: number[] = [];
  for (let i = 0; i < stream.length; i += size)
    got.push(...reader.push(stream.subarray(i, i + size)).map((f) => f.frameIndex));
  return { got, skipped };
}

describe('MjpegReader', () => {
  const bad = [
    // Each is one malformed part; the frames around it must come through.
    [
      'a body that is not a JPEG',
      rawPart('Content-Length: 3\r\nX-Capture-Time-Ms: 5\r\nX-Frame-Index: 9', Buffer.from('abc')),
    ],
    ['no X-Frame-Index', rawPart('Content-Length: 6\r\nX-Capture-Time-Ms: 5', jpeg(1))],
    [
      'an empty X-Capture-Time-Ms',
      rawPart('Content-Length: 6\r\nX-Capture-Time-Ms: \r\nX-Frame-Index: 9', jpeg(1)),
    ],
    ['a Content-Length that is not a number', rawPart('Content-Length: six\r\nX-Frame-Index: 9', jpeg(1))],
    [
      'a Content-Length too short for the JPEG',
      rawPart('Content-Length: 4\r\nX-Capture-Time-Ms: 5\r\nX-Frame-Index: 9', jpeg(1)),
    ],
    ['bytes that are no part at all', Buffer.from('garbage\r\n\r\nmore garbage\r\n')],
  ] as const;

  it.each(bad)('skips %s, reports it once and reads on, however the bytes are chunked', (_, junk) => {
    const stream = Buffer.concat([part(1), junk, part(2), part(3)]);
    for (const size of [1, 7, 64, stream.length]) {
      const { got, skipped } = read(stream, size);
      expect(got).toEqual([1, 2, 3]);
      expect(skipped.length).toBeGreaterThanOrEqual(1);
      expect(skipped.length).toBeLessThanOrEqual(2);
    }
  });

  it('gives up on a header that never ends, without holding the bytes forever', () => {
    const junk = Buffer.alloc(20_000, 0x41);
    const { got, skipped } = read(Buffer.concat([part(1), junk, part(2)]), 4096);
    expect(got).toEqual([1, 2]);
    expect(skipped).toHaveLength(1);
  });

  it('throws on a malformed part when nobody asked to be told', () => {
    const reader = new MjpegReader();
    expect(() => reader.push(rawPart('Content-Length: six', jpeg(1)))).toThrow(/Content-Length/);
  });
});
