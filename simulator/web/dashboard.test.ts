import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
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
