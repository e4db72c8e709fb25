/**
 * Live cameras' main streams over HTTP: GET region.jpg (proto/camera/stream.ts) of a frame the
 * camera delivered, next to the stream the edge reads (a camera announces its stream URL in its
 * retained status; region.jpg is beside stream.mjpeg). Errors keep the camera's code (FRAME_GONE
 * for a frame older than it keeps), which the second look takes for a view not seen.
 */
import type { MainStreamSource } from '../../models/runtime/types.ts';
import { regionSearch, WalkoutError } from '../../proto/index.ts';
import type { MainStreams } from '../vision/second-look.ts';

export interface HttpMainStreamOptions {
  /** The camera's stream URL (…/cameras/{id}/stream.mjpeg), e.g. from the live input's status. */
  streamUrl: (cameraId: string) => string | null;
  /** Detect-stream size per camera (the layout's resolution): regions are given in its pixels. */
  size: (cameraId: string) => { width: number; height: number } | null;
  /** A region request taking longer is abandoned (the look goes on without the view), ms. */
  timeoutMs?: number;
}

export function httpMainStreams(opts: HttpMainStreamOptions): MainStreams {
  const timeoutMs = opts.timeoutMs ?? 1000;
  return (cameraId, frameIndex): MainStreamSource | null => {
    const url = opts.streamUrl(cameraId);
    const size = opts.size(cameraId);
    if (!url || !size || !url.endsWith('/stream.mjpeg')) return null;
    const base = `${url.slice(0, -'stream.mjpeg'.length)}region.jpg`;
    return {
      ...size,
      async region(region, scale) {
        const res = await fetch(`${base}${regionSearch({ ...region, scale, frame: frameIndex })}`, {
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!res.ok) {
          const body = (await res.json().catch(() => null)) as {
            error?: { code?: string; message?: string };
          } | null;
          const code =
            body?.error?.code === 'FRAME_GONE'
              ? 'FRAME_GONE'
              : res.status === 404
                ? 'NOT_FOUND'
                : 'BAD_REQUEST';
          throw new WalkoutError(
            code,
            `camera ${cameraId} region: ${res.status} ${body?.error?.message ?? ''}`.trim(),
            {
              cameraId,
              frameIndex,
            },
          );
        }
        return new Uint8Array(await res.arrayBuffer());
      },
    };
  };
}
