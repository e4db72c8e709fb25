import type { Logger } from '../../platform/log.ts';
import type { MqttAuthority } from '../../platform/mqtt-authority.ts';
import { resolveServices } from '../../platform/services.ts';
import { cameraPaths, WalkoutError } from '../../proto/index.ts';
import { systemWallClock } from '../core/clock.ts';
import { type CameraUrls, createCameraServer, type RegionSource } from '../io/camera-server.ts';
import { cloudFromConfig } from '../io/cloud-link.ts';
import { createLiveFrames } from '../io/frame-sinks.ts';
import { connectDevices } from '../io/mqtt-devices.ts';
import { createOfflineApp } from '../io/offline-app.ts';
import type { ReceiptStats } from '../io/receipt-watch.ts';
import type { Progress } from '../run/runner.ts';
import { runSession, type Summary } from '../run/session.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import type { SimConfig } from './config.ts';

export interface LiveStore {
  mqttUrl: string;
  /** Grants accounts on that broker (absent for a broker without accounts). */
  mqttAuthority: MqttAuthority | undefined;
  /** The cloud the shoppers and gates use, when there is one. */
  cloudUrl: string | null;
  cameraBaseUrl: string;
  cameraUrls(cameraId: string): CameraUrls;
  done: Promise<Summary>;
  abort(): void;
  latest(): Progress | null;
  /** The receipts the shoppers' phones waited for; null without a cloud. */
  receipts(): ReceiptStats | null;
}

/** The synthetic store running live: devices on the broker, cameras on HTTP, paced against the wall clock. */
export async function startLive(opts: {
  config: SimConfig;
  loaded: LoadedScenario;
  out: string;
  log: Logger;
  onProgress?: ((p: Progress) => void) | undefined;
  /** A broker someone else started and closes (npm start shares it with its cloud); else resolved here. */
  broker?: { url: string; authority: MqttAuthority | undefined } | undefined;
}): Promise<LiveStore> {
  const { config, loaded, log } = opts;
  // Before anything starts: a cloud that is not there would turn every shopper away.
  const cloud = await cloudFromConfig(config, loaded.layout, log.child('cloud'));
  const services = opts.broker
    ? { mqttUrl: opts.broker.url, mqttAuthority: opts.broker.authority, close: async () => {} }
    : await resolveServices({ needMqtt: true, log: log.child('services') });
  const mqttUrl = services.mqttUrl!;
  // The frames (and the memory regions are drawn from) exist once the session has its engine.
  let regions: RegionSource | null = null;
  const cameras = createCameraServer({
    layout: loaded.layout,
    regions: config.noCameras
      ? undefined
      : {
          render: (cameraId, frameIndex, region, scale) => {
            if (!regions)
              throw new WalkoutError('NO_FRAME_YET', `camera ${cameraId} has not delivered a frame yet`);
            return regions.render(cameraId, frameIndex, region, scale);
          },
        },
  });
  const cameraBaseUrl = await cameras
    .listen(config.cameraPort, '127.0.0.1')
    .catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') throw err;
      // Consumers find streams through the cameras' retained MQTT status, so any free port will do.
      log.warn('camera port in use; using a free one', { port: config.cameraPort });
      return cameras.listen(0, '127.0.0.1');
    });
  log.info('cameras streaming', { url: `${cameraBaseUrl}${cameraPaths.index()}` });
  const offline = createOfflineApp(loaded.layout.storeId, `sim-${config.seed}`);
  const controller = new AbortController();
  let latest: Progress | null = null;
  const done = runSession({
    loaded,
    seed: config.seed,
    minutes: config.minutes,
    out: opts.out,
    app: cloud?.app ?? offline,
    authority:
      cloud?.authority ??
      ((config.gateAuthority ?? 'local') === 'local'
        ? { kind: 'local', verify: offline.verify }
        : { kind: 'remote', timeoutMs: 5000 }),
    io: cloud?.inFlight,
    sink: async (engine) => {
      const devices = await connectDevices({
        url: mqttUrl,
        authority: services.mqttAuthority,
        storeId: loaded.layout.storeId,
        devices: engine.devices(),
        // DeviceStatus is strict and names no regionUrl (yet): announce only the stream and snapshot.
        statusExtra: (d) => {
          if (d.kind !== 'camera') return {};
          const { streamUrl, snapshotUrl } = cameras.cameraUrls(d.deviceId);
          return { streamUrl, snapshotUrl };
        },
        log: log.child('devices'),
      });
      devices.onCommand((cmd) => engine.gates.command(cmd));
      return cloud ? cloud.gates(devices, engine) : devices;
    },
    frames: config.noCameras
      ? undefined
      : (engine) => {
          const frames = createLiveFrames({ engine, server: cameras, out: opts.out });
          regions = frames.regions;
          return frames;
        },
    speed: config.speed ?? 1,
    wall: systemWallClock,
    onProgress: (p) => {
      latest = p;
      opts.onProgress?.(p);
    },
    signal: controller.signal,
    mode: 'live',
  }).finally(async () => {
    cloud?.app.close();
    await cameras.close();
    await services.close();
  });
  return {
    mqttUrl,
    mqttAuthority: services.mqttAuthority,
    cloudUrl: cloud?.baseUrl ?? null,
    cameraBaseUrl,
    cameraUrls: (id) => cameras.cameraUrls(id),
    done,
    abort: () => controller.abort(),
    latest: () => latest,
    receipts: () => cloud?.app.receipts() ?? null,
  };
}
