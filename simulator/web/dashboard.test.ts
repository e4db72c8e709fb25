import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { connectDynsecAuthority, parseBrokerLogin, provisionClient } from '../../platform/mqtt-authority.ts';
import { type EdgeStats, topics } from '../../proto/index.ts';
import { parseSimConfig } from '../cli/config.ts';
import { startLive } from '../cli/live.ts';
import { loadScenario } from '../scenario/load.ts';
import { startDashboard } from './dashboard.ts';

const CHROMIUM = '/usr/bin/chromium';
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

describe('the demo page in a real browser', () => {
  // The services script installs Chromium; in CI a missing browser fails instead of skipping.
  it.skipIf(!existsSync(CHROMIUM) && !process.env.CI)(
    'shows every camera stream and live counts',
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'walkout-dash-'));
      const config = parseSimConfig(
        ['--out', out, '--minutes', '2', '--speed', '3', '--camera-port', '0', '--scenario', 'crowded'],
        {
          MQTT_URL: process.env.MQTT_URL,
        },
      );
      const loaded = loadScenario(config.scenario);
      const live = await startLive({ config, loaded, out, log: silent });
      const dashboard = await startDashboard({
        layout: loaded.layout,
        mqttUrl: live.mqttUrl,
        mqttAuthority: live.mqttAuthority,
        cameraUrls: live.cameraUrls,
        progress: live.latest,
        port: 0,
      });
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      });
      try {
        const page = await browser.newPage();
        await page.goto(dashboard.url, { waitUntil: 'domcontentloaded' });
        // Page code goes as strings: it runs in the browser, and this project compiles without DOM types.
        // Every stream renders: a browser allows six connections per host and port, so this fails
        // if the cameras ever share one port again.
        const n = loaded.layout.cameras.length;
        await page.waitForFunction(
          `[...document.querySelectorAll('img')].length === ${n} && [...document.querySelectorAll('img')].every((i) => i.naturalWidth === 640)`,
          undefined,
          { timeout: 30_000 },
        );
        // Every device's retained status reaches the page: all of them online.
        const expected =
          loaded.layout.plates.length + loaded.layout.cameras.length + loaded.layout.gates.length * 3;
        await page.waitForFunction(
          `document.getElementById('devices').textContent === '${expected}/${expected}'`,
          undefined,
          {
            timeout: 30_000,
          },
        );
        await page.waitForFunction(
          `Number(document.getElementById('mqttMessages').textContent.replace(/[^0-9]/g, '')) > 1000`,
          undefined,
          {
            timeout: 30_000,
          },
        );
        // A store without a cloud says so instead of counting receipts (and the page's script ran that far).
        await page.waitForFunction(
          `document.getElementById('receipts').textContent === 'no cloud'`,
          undefined,
          {
            timeout: 5_000,
          },
        );
        const before = dashboard.stats().mqttMessages;
        await page.waitForTimeout(1500);
        expect(dashboard.stats().mqttMessages).toBeGreaterThan(before);
      } finally {
        await browser.close();
        live.abort();
        await live.done;
        await dashboard.close();
      }
    },
  );
});

describe.skipIf(!process.env.MQTT_URL || !process.env.MQTT_ADMIN)('the demo page’s edge counters', () => {
  it('shows the counters an edge publishes on the broker, and the receipts it is given', async () => {
    const url = process.env.MQTT_URL!;
    const authority = await connectDynsecAuthority({ url, admin: parseBrokerLogin(process.env.MQTT_ADMIN!) });
    // A store of its own: the shared broker may carry another run's `reference` store and page account.
    const storeId = `dash-${randomUUID().slice(0, 8)}`;
    const layout = { ...loadScenario('baseline').layout, storeId };
    const edgeUser = `${storeId}/edge-dash-${randomUUID().slice(0, 8)}`;
    const edgeLogin = await provisionClient(authority, edgeUser, {
      role: 'edge',
      storeId,
      deviceId: 'edge-dash',
    });
    const receipts = { exits: 3, received: 2, waiting: 1, gaveUp: 0, latencyMs: { median: 1500, max: 2100 } };
    const dashboard = await startDashboard({
      layout,
      mqttUrl: url,
      mqttAuthority: authority,
      cameraUrls: () => ({ streamUrl: 'http://127.0.0.1:1/none' }),
      progress: () => null,
      receipts: () => receipts,
      port: 0,
    });
    const edge = await mqtt.connectAsync(url, { ...edgeLogin, reconnectPeriod: 0 });
    try {
      const stats = (dropped: number): EdgeStats => ({
        edgeId: 'edge-dash',
        tsMs: 1_767_600_000_000 + dropped,
        cameras: { 'cam-11': { received: 100, processed: 100 - dropped, dropped } },
        rejected: {},
        loop: {
          inputs: 500,
          framesDetected: 100 - dropped,
          deviceMessages: 400,
          reports: 7,
          detectionErrors: 0,
        },
        link: { connected: true, lastSeq: 7, ackedSeq: 5, pending: 2 },
        live: { queued: 0, coalesced: 0, dropped: 0, errors: 0 },
        visitsOpen: 3,
      });
      const read = async () =>
        (await (await fetch(new URL('/stats', dashboard.url))).json()) as DashboardJson;
      type DashboardJson = ReturnType<typeof dashboard.stats>;
      // The page keeps each edge's newest message: the second replaces the first.
      for (const dropped of [10, 40]) {
        await edge.publishAsync(topics.edgeStats(storeId, 'edge-dash'), JSON.stringify(stats(dropped)), {
          qos: 1,
        });
      }
      const end = Date.now() + 5_000;
      let got = await read();
      while (got.edges[0]?.cameras['cam-11']?.dropped !== 40 && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
        got = await read();
      }
      expect(got.edges).toHaveLength(1);
      expect(got.edges[0]).toMatchObject({ edgeId: 'edge-dash', visitsOpen: 3, link: { pending: 2 } });
      expect(got.edges[0]!.cameras['cam-11']).toEqual({ received: 100, processed: 60, dropped: 40 });
      expect(got.receipts).toEqual(receipts);
      expect(got.rejectedMessages).toBe(0);
    } finally {
      await edge.endAsync(true);
      await dashboard.close();
      await authority.revokeAll([edgeUser, `${storeId}/dashboard`]);
      await authority.close();
    }
  });
});
