import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceMessage } from '../run/engine.ts';
import type { DeviceSink } from './device-sink.ts';

const FLUSH_BYTES = 1 << 20;

/**
 * Records device traffic as it would cross the broker: one JSON line per message in
 * {dir}/mqtt.jsonl with the store time, topic, retain flag and the exact payload text.
 */
export function createRecordingSink(dir: string): DeviceSink {
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, 'mqtt.jsonl'), 'w');
  let buf: string[] = [];
  let bytes = 0;
  let published = 0;
  const flush = () => {
    if (buf.length === 0) return;
    writeSync(fd, buf.join(''));
    buf = [];
    bytes = 0;
  };
  return {
    publish(m: DeviceMessage) {
      const line = `{"tsMs":${m.tsMs},"topic":${JSON.stringify(m.topic)},"retain":${m.retain},"payload":${JSON.stringify(JSON.stringify(m.payload))}}\n`;
      buf.push(line);
      bytes += line.length;
      published += 1;
      if (bytes > FLUSH_BYTES) flush();
    },
    get published() {
      return published;
    },
    async close() {
      flush();
      closeSync(fd);
    },
  };
}
