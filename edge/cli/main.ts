/**
 * npm run edge -- --store STORE_ID [--cloud HOST:PORT] [--layout FILE --catalog FILE] [--replay DIR] ...
 * (flags and environment: edge/config.ts). Live: the store's broker and cameras; --replay DIR: a
 * simulator recording, as fast as the machine allows, through the same loop from the inputs on.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLogger } from '../../platform/log.ts';
import { isWalkoutError, loadCatalog, loadLayout, WalkoutError } from '../../proto/index.ts';
import { type EdgeConfig, parseEdgeConfig } from '../config.ts';
import { connectGateCommands } from '../io/gate-commands.ts';
import { connectLiveInput, LiveInput, loadRecordingStore, ReplayInput } from '../io/index.ts';
import { createLivePublisher } from '../io/live-connection.ts';
import { httpMainStreams } from '../io/main-stream.ts';
import { EdgeLinkClient } from '../link/client.ts';
import { loadLinkConfig } from '../link/config.ts';
import { GateAuthorityInput, gateAuthorityConfig } from '../link/gate-authority.ts';
import { runLoop } from '../loop.ts';
import type { CloudLink, InputSource, LivePublisher, SecondLook } from '../stages.ts';
import { Checkpointer, resumeFusion } from '../state/checkpoint.ts';
import { openDetector } from '../vision/detector.ts';
import { openSecondLook } from '../vision/second-look.ts';
import { buildFusion } from '../wiring.ts';
import { startTaps } from './taps.ts';

const log = createLogger('edge');

function storeFiles(config: EdgeConfig) {
  if (config.layout && config.catalog) {
    const catalog = loadCatalog(config.catalog);
    return { layout: loadLayout(config.layout, catalog), catalog };
  }
  if (config.replay) return loadRecordingStore(config.replay);
  const ref = new URL('../../proto/stores/reference/', import.meta.url).pathname;
  const catalog = loadCatalog(join(ref, 'catalog.json'));
  return { layout: loadLayout(join(ref, 'layout.json'), catalog), catalog };
}

async function main(): Promise<void> {
  const config = parseEdgeConfig(process.argv.slice(2), process.env);
  const { layout, catalog } = storeFiles(config);
  if (layout.storeId !== config.storeId)
    throw new WalkoutError(
      'CONFIG_INVALID',
      `--store ${config.storeId} but the layout is of store ${layout.storeId}`,
    );
  const edgeId = config.credentials?.split(':')[0] ?? 'edge';
  const stateDir = resolve(config.stateDir, config.storeId);
  mkdirSync(stateDir, { recursive: true });
  const taps = await startTaps(config, layout, stateDir, log);
  const looking = !config.replay && config.secondLook;
  const fresh = () =>
    buildFusion(layout, catalog, { ...config, observe: taps.observe, answersLooks: looking });
  let fusion = fresh();
  const detector = await openDetector({
    scoreThreshold: config.detectScore,
    reid: config.reid,
    armLinks: config.armLinks,
    ...(config.workers ? { workers: config.workers } : {}),
    ...(config.detectThreads ? { intraOpThreads: config.detectThreads } : {}),
  });
  const closers: (() => Promise<void>)[] = [() => detector.close(), () => taps.close()];
  try {
    const replay = config.replay
      ? new ReplayInput({ dir: config.replay, log: log.child('replay'), detectFps: config.detectFps })
      : null;
    const source: InputSource = replay
      ? replay
      : await connectLiveInput({
          mqtt: {
            url: config.mqttUrl!,
            storeId: config.storeId,
            ...login(config),
            clientId: `walkout-edge-${config.storeId}-${edgeId}`,
          },
          cameras: { detectFps: config.detectFps },
          log: log.child('input'),
        });
    let input: InputSource = taps.tapInput(source);
    closers.push(() => input.close());
    let secondLook: SecondLook | undefined;
    if (looking && source instanceof LiveInput) {
      const live = source;
      const sizes = new Map(layout.cameras.map((c) => [c.id, c.resolution]));
      const opened = await openSecondLook(
        httpMainStreams({
          streamUrl: (id) => live.streams().find((s) => s.cameraId === id)?.url ?? null,
          size: (id) => sizes.get(id) ?? null,
        }),
      );
      closers.push(() => opened.close());
      secondLook = opened.look;
    }
    let link: EdgeLinkClient | null = null;
    let checkpoints: { checkpointer: Checkpointer; startMs: number } | undefined;
    if (config.cloud) {
      const linkConfig = loadLinkConfig(
        {
          outboxDir: join(stateDir, 'outbox'),
          ...config.link,
          address: config.cloud,
          httpUrl: config.cloudHttp,
        },
        process.env,
      );
      const client = EdgeLinkClient.start(linkConfig, { log: log.child('link') });
      link = client;
      closers.push(() => client.close());
      // A restart goes on from the state stored with the last reports (edge/state/checkpoint.ts).
      const inputName = config.replay ? `replay:${resolve(config.replay)}` : 'live';
      const restored = resumeFusion(client, inputName, fusion, fresh, log.child('state'));
      fusion = restored.fusion;
      if (restored.resumed) replay?.resumeAfter(restored.resumed.position);
      checkpoints = {
        checkpointer: new Checkpointer(client, inputName, fusion, restored.resumed, CHECKPOINT_EVERY_MS),
        startMs: restored.resumed?.atMs ?? 0,
      };
    }
    let gate: GateAuthorityInput | null = null;
    if (config.gateAuthority && link) {
      const commands = connectGateCommands({
        url: config.mqttUrl!,
        credentials: config.authorityCredentials!,
        storeId: config.storeId,
        clientId: `walkout-edge-${config.storeId}-${edgeId}-gates`,
        log: log.child('gate'),
      });
      closers.push(() => commands.close());
      gate = new GateAuthorityInput(input, gateAuthorityConfig(config.gate), {
        link,
        offline: link.offlineGate(),
        publish: (c) => commands.publish(c),
        log: log.child('gate'),
      });
      input = gate;
    }
    let publisher: LivePublisher | null = null;
    if (config.mqttUrl) {
      publisher = createLivePublisher({
        url: config.mqttUrl,
        login: login(config),
        storeId: config.storeId,
        edgeId,
        config: config.live,
        log: log.child('live'),
      });
      closers.push(() => publisher!.close());
    }
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    process.once('SIGTERM', () => abort.abort());
    log.info('edge running', {
      storeId: config.storeId,
      mode: config.replay ? 'replay' : 'live',
      cloud: config.cloud ?? null,
      gateAuthority: gate !== null,
      detectFps: config.detectFps,
    });
    const started = performance.now();
    const stats = await runLoop(
      {
        input,
        detector,
        fusion,
        link,
        publisher,
        log,
        detectInFlight: config.detectInFlight,
        ...(secondLook ? { secondLook } : {}),
        ...(checkpoints ? { checkpoints } : {}),
        ...(config.replay ? {} : { wallMs: () => Date.now() }),
      },
      abort.signal,
    );
    // A replay ends when its files do; what it reported is delivered before the edge goes.
    if (config.replay && link) await drained(link, LINK_DRAIN_TIMEOUT_MS);
    log.info('edge stopped', {
      ...stats,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      cameras: input.counters(),
      rejected: input.rejected(),
      ...(gate ? { gate: gate.decisions() } : {}),
    });
  } finally {
    for (const close of closers.reverse()) await close().catch((err) => log.warn('close failed', { err }));
  }
}

/**
 * Store ms between checkpoints when no report comes (each report stores one anyway): live, a
 * crash loses at most this much of what the broker no longer holds.
 */
const CHECKPOINT_EVERY_MS = 2000;

/** How long a replay's end waits for the cloud to acknowledge every report. */
const LINK_DRAIN_TIMEOUT_MS = 60_000;

async function drained(link: CloudLink, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (link.status().pending > 0) {
    if (performance.now() > until) {
      log.warn('replay ended with reports the cloud has not acknowledged; they stay in the outbox', {
        ...link.status(),
      });
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function login(config: EdgeConfig): { username: string; password: string } {
  // The config refuses a live edge without credentials; a replay publishes nothing.
  const pair = config.credentials ?? ':';
  const colon = pair.indexOf(':');
  return { username: pair.slice(0, colon), password: pair.slice(colon + 1) };
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(
      `\n${isWalkoutError(err) ? `error ${err.message}` : ((err as Error).stack ?? String(err))}\n`,
    );
    process.exit(isWalkoutError(err) ? 2 : 1);
  },
);
