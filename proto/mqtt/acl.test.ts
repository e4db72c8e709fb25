import { describe, expect, it } from 'vitest';
import { isWalkoutError } from '../errors.ts';
import { aclFor, filterCovered, mayPublish, maySubscribe, topicMatches } from './acl.ts';
import { topics } from './topics.ts';

const S = 'store-1';

describe('aclFor', () => {
  it('lets a plate publish only its own samples and status', () => {
    const acl = aclFor({ role: 'plate', storeId: S, deviceId: 'P1' });
    expect(mayPublish(acl, topics.plateSamples(S, 'P1'))).toBe(true);
    expect(mayPublish(acl, topics.deviceStatus(S, 'P1'))).toBe(true);
    expect(mayPublish(acl, topics.plateSamples(S, 'P2'))).toBe(false);
    expect(mayPublish(acl, topics.plateSamples('store-2', 'P1'))).toBe(false);
    expect(mayPublish(acl, topics.deviceStatus(S, 'P2'))).toBe(false);
    expect(mayPublish(acl, topics.gateCommand(S, 'gate-in'))).toBe(false);
    expect(maySubscribe(acl, `walkout/${S}/#`)).toBe(false);
  });

  it("lets scanners and beams publish only their own gate's scans or passages", () => {
    const scanner = aclFor({ role: 'scanner', storeId: S, deviceId: 'scan-in', gateIds: ['gate-in'] });
    expect(mayPublish(scanner, topics.gateScan(S, 'gate-in'))).toBe(true);
    expect(mayPublish(scanner, topics.gateScan(S, 'gate-out'))).toBe(false);
    expect(mayPublish(scanner, topics.gatePassage(S, 'gate-in'))).toBe(false);
    expect(mayPublish(scanner, topics.gateCommand(S, 'gate-in'))).toBe(false);
    const beam = aclFor({ role: 'gate-sensor', storeId: S, deviceId: 'beam-in', gateIds: ['gate-in'] });
    expect(mayPublish(beam, topics.gatePassage(S, 'gate-in'))).toBe(true);
    expect(mayPublish(beam, topics.gateScan(S, 'gate-in'))).toBe(false);
  });

  it('lets only the gate controller and the store authority publish gate commands', () => {
    const gate = aclFor({ role: 'gate', storeId: S, deviceId: 'ctl-1', gateIds: ['gate-in'] });
    expect(mayPublish(gate, topics.gateCommand(S, 'gate-in'))).toBe(true);
    expect(maySubscribe(gate, topics.gateCommand(S, 'gate-in'))).toBe(true);
    expect(mayPublish(gate, topics.gateCommand(S, 'gate-out'))).toBe(false);
    expect(maySubscribe(gate, topics.gateCommand(S, 'gate-out'))).toBe(false);
    const authority = aclFor({ role: 'authority', storeId: S, deviceId: 'cloud' });
    expect(mayPublish(authority, topics.gateCommand(S, 'any-gate'))).toBe(true);
    expect(mayPublish(authority, topics.gateCommand('store-2', 'any-gate'))).toBe(false);
    expect(mayPublish(authority, topics.gateScan(S, 'any-gate'))).toBe(false);
    for (const role of ['camera', 'edge', 'observer'] as const) {
      const acl = aclFor({ role, storeId: S, deviceId: 'x' });
      expect(mayPublish(acl, topics.gateCommand(S, 'gate-in')), role).toBe(false);
    }
  });

  it("lets an edge publish its own live topics and status, and no other edge's", () => {
    const acl = aclFor({ role: 'edge', storeId: S, deviceId: 'edge-1' });
    for (const own of [
      topics.edgeTracks(S, 'edge-1'),
      topics.edgeCarts(S, 'edge-1'),
      topics.edgePlates(S, 'edge-1'),
      topics.edgeAlerts(S, 'edge-1'),
      topics.edgeStats(S, 'edge-1'),
      topics.deviceStatus(S, 'edge-1'),
    ])
      expect(mayPublish(acl, own), own).toBe(true);
    expect(mayPublish(acl, topics.edgeTracks(S, 'edge-2'))).toBe(false);
    expect(mayPublish(acl, topics.edgeStats(S, 'edge-2'))).toBe(false);
    expect(mayPublish(acl, topics.edgeTracks('store-2', 'edge-1'))).toBe(false);
    expect(mayPublish(acl, topics.deviceStatus(S, 'edge-2'))).toBe(false);
    expect(mayPublish(acl, topics.plateSamples(S, 'edge-1'))).toBe(false);
    for (const role of ['camera', 'observer', 'authority', 'plate'] as const) {
      const other = aclFor({ role, storeId: S, deviceId: 'edge-1' });
      expect(mayPublish(other, topics.edgeTracks(S, 'edge-1')), role).toBe(false);
    }
  });

  it('lets the edge and observers read their store but not another', () => {
    for (const role of ['edge', 'observer', 'authority'] as const) {
      const acl = aclFor({ role, storeId: S, deviceId: 'edge-1' });
      expect(maySubscribe(acl, `walkout/${S}/#`), role).toBe(true);
      expect(maySubscribe(acl, `walkout/${S}/gates/+/scans`), role).toBe(true);
      expect(maySubscribe(acl, 'walkout/store-2/#'), role).toBe(false);
      expect(maySubscribe(acl, 'walkout/#'), role).toBe(false);
      expect(maySubscribe(acl, '#'), role).toBe(false);
    }
  });

  it('refuses ids that would widen the grant, and gate devices without gates', () => {
    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return isWalkoutError(err) && err.code === 'BROKER_IDENTITY_INVALID';
      }
      return false;
    };
    expect(refused(() => aclFor({ role: 'plate', storeId: S, deviceId: '+' }))).toBe(true);
    expect(refused(() => aclFor({ role: 'plate', storeId: S, deviceId: 'a/b' }))).toBe(true);
    expect(refused(() => aclFor({ role: 'edge', storeId: '#', deviceId: 'e' }))).toBe(true);
    expect(refused(() => aclFor({ role: 'plate', storeId: S, deviceId: '' }))).toBe(true);
    expect(refused(() => aclFor({ role: 'gate', storeId: S, deviceId: 'g' }))).toBe(true);
    expect(refused(() => aclFor({ role: 'scanner', storeId: S, deviceId: 's', gateIds: ['g/+'] }))).toBe(
      true,
    );
  });
});

describe('topic filters', () => {
  it('match topics by MQTT rules', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/d')).toBe(false);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('a/b', 'a/b/c')).toBe(false);
    expect(topicMatches('a/b/c', 'a/b')).toBe(false);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
  });

  it('cover a subscription only when the grant is at least as wide', () => {
    expect(filterCovered('a/#', 'a/+/c')).toBe(true);
    expect(filterCovered('a/#', 'a/#')).toBe(true);
    expect(filterCovered('a/+/c', 'a/+/c')).toBe(true);
    expect(filterCovered('a/b/c', 'a/+/c')).toBe(false);
    expect(filterCovered('a/b/c', 'a/#')).toBe(false);
    expect(filterCovered('a/+/c', 'a/b/c')).toBe(true);
    expect(filterCovered('a/+', 'a/b/c')).toBe(false);
  });
});
