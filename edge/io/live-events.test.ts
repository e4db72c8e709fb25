import { describe, expect, it } from 'vitest';
import { CoalescingQueue, type Outgoing } from './coalescing-queue.ts';
import { LiveObjects } from './live-events.ts';

const types = (events: { type: string; id: string }[]) => events.map((e) => `${e.type} ${e.id}`);

describe('LiveObjects', () => {
  it('announces an object new once, updates it only on change, and ends it once', () => {
    const carts = new LiveObjects<{ n: number }>(1_000);
    expect(carts.state('v1', { n: 1 }, 0)?.type).toBe('new');
    expect(carts.state('v1', { n: 1 }, 10)).toBeNull();
    expect(carts.state('v1', { n: 2 }, 20)).toEqual({ type: 'update', id: 'v1', value: { n: 2 } });
    expect(carts.end('v1')).toEqual({ type: 'end', id: 'v1', value: { n: 2 } });
    expect(carts.end('v1')).toBeNull();
    expect(carts.state('v1', { n: 2 }, 30)?.type).toBe('new');
  });

  it('ends by the watchdog only what was not stated within its quiet period', () => {
    const alerts = new LiveObjects<string>(1_000);
    alerts.state('a', 'x', 0);
    alerts.state('b', 'x', 0);
    // An unchanged restatement publishes nothing but keeps the object alive.
    expect(alerts.state('b', 'x', 900)).toBeNull();
    expect(alerts.expire(1_000)).toEqual([]);
    expect(types(alerts.expire(1_001))).toEqual(['end a']);
    expect(types(alerts.expire(1_901))).toEqual(['end b']);
    expect(alerts.size).toBe(0);
  });

  it('takes a complete set: missing objects end first, every given one updates when asked to', () => {
    const tracks = new LiveObjects<number[]>(1_000);
    expect(
      types(
        tracks.replaceAll(
          [
            ['t1', [0, 0]],
            ['t2', [1, 1]],
          ],
          0,
          true,
        ),
      ),
    ).toEqual(['new t1', 'new t2']);
    expect(
      types(
        tracks.replaceAll(
          [
            ['t2', [1, 1]],
            ['t3', [2, 2]],
          ],
          200,
          true,
        ),
      ),
    ).toEqual(['end t1', 'update t2', 'new t3']);
    expect(types(tracks.replaceAll([], 400, true))).toEqual(['end t2', 'end t3']);
  });

  it('refreshes without counting as a statement', () => {
    const plates = new LiveObjects<boolean>(1_000);
    plates.state('p', true, 0);
    expect(types(plates.refresh())).toEqual(['update p']);
    expect(types(plates.expire(1_001))).toEqual(['end p']);
  });
});

describe('CoalescingQueue', () => {
  const msg = (type: Outgoing['type'], n: number): Outgoing => ({ topic: 't', type, body: { n } });
  const drain = (q: CoalescingQueue) => {
    const out: string[] = [];
    for (let m = q.shift(); m; m = q.shift()) out.push(`${m.type} ${String(m.body.n)}`);
    return out;
  };

  it('keeps the newest state per object and the lifecycle a subscriber sees', () => {
    const q = new CoalescingQueue(10);
    q.push('a', msg('new', 1));
    q.push('b', msg('update', 1));
    q.push('a', msg('update', 2));
    q.push('b', msg('end', 2));
    q.push('c', msg('new', 1));
    q.push('c', msg('end', 2));
    q.push('d', msg('end', 1));
    q.push('d', msg('new', 2));
    // a is still new (never sent) with its newest state, in its first place; c never existed.
    expect(drain(q)).toEqual(['new 2', 'end 2', 'update 2']);
    expect(q.coalesced).toBe(4);
  });

  it('is bounded: a full queue drops its oldest update before any new or end, never the newest', () => {
    const q = new CoalescingQueue(3);
    q.push('a', msg('new', 1));
    q.push('b', msg('update', 1));
    q.push('c', msg('end', 1));
    q.push('d', msg('new', 1));
    expect(q.size).toBe(3);
    expect(q.dropped).toBe(1);
    q.push('e', msg('update', 2));
    q.push('e', msg('update', 3));
    expect(drain(q)).toEqual(['end 1', 'new 1', 'update 3']);
    expect(q.dropped).toBe(2);
  });
});
