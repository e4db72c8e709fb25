/**
 * Every error that crosses a module boundary carries a stable code from this registry, so that
 * operators, logs and tests can match on the code rather than on wording that may change.
 */
export const ErrorCodes = {
  FILE_UNREADABLE: 'a configuration or data file could not be read',
  FILE_NOT_JSON: 'a configuration or data file is not valid JSON',
  FILE_INVALID: 'a configuration or data file does not match its schema',
  RECORDING_INVALID:
    "a line of a recording (mqtt.jsonl, a camera's index.jsonl) is not JSON or not in the recording format",
  LAYOUT_INCONSISTENT: 'a store layout refers to things it does not define, or overlaps itself',
  CATALOG_INCONSISTENT: 'a catalogue repeats a SKU or is otherwise self-contradictory',
  PLANOGRAM_UNKNOWN_SKU: 'a planogram names a SKU the catalogue does not have',
  PAYLOAD_INVALID: 'a message received over the wire does not match its schema',
  TOPIC_UNKNOWN: 'an MQTT topic is not part of the Walkout topic tree',
  CAMERA_UNKNOWN: 'a camera id is not in the store layout',
  CAMERA_STREAM_FAILED:
    "a camera's stream could not be opened or broke off (refused, not MJPEG, silent too long); the reader reconnects",
  CONFIG_INVALID: 'process configuration (environment or flags) is invalid',
  SCENARIO_INVALID: 'a simulator scenario is invalid',
  NO_FRAME_YET: 'a camera has not produced a frame yet',
  FRAME_GONE: 'the requested frame is older than the camera keeps',
  FRAME_INVALID:
    'a camera frame is malformed: a stream part without a valid Content-Length, capture time or frame index, or a body that is not a JPEG',
  RENDER_FAILED: 'a camera failed to produce an image it was asked for',
  NOT_FOUND: 'no such HTTP resource',
  METHOD_NOT_ALLOWED: 'the HTTP method is not supported for this resource',
  BAD_REQUEST: 'an HTTP request is malformed',
  UNSUPPORTED_MEDIA_TYPE:
    'an HTTP request body is not JSON in UTF-8 (its Content-Type or charset is another)',
  MODEL_CORRUPT: 'a model file is unreadable, truncated or does not match the sha256 in its manifest',
  MODEL_MISMATCH: 'a model file does not have the inputs or outputs its manifest describes',
  IMAGE_INVALID: 'an image given to a model could not be decoded or has the wrong size',
  INFERENCE_FAILED: 'running a model failed',
  INTERNAL: 'the service failed while handling a request; its log has the details under the request id',
  UNAUTHENTICATED: 'a request has no credentials, or its token or device secret is invalid or expired',
  CREDENTIALS_INVALID: 'an email and password do not match an account',
  FORBIDDEN: 'the caller is authenticated but may not act on this resource',
  EMAIL_TAKEN: 'an account with this email already exists',
  PAYMENT_METHOD_REJECTED: 'the payment provider does not know the payment token given',
  PAYMENT_UNRESOLVED: 'a payment the provider has not answered yet must be resolved before this can change',
  VISIT_UNKNOWN: 'an edge reported on a visit the cloud does not have',
  VISIT_NOT_OPEN: 'an edge reported on a visit that is cancelled, expired or already settled',
  MEMBER_UNKNOWN: 'an edge named a party member the visit does not have',
  OFFLINE_ENTRY_REFUSED:
    'an entry an edge admitted while offline cannot be a visit: the code is not ours, the shopper is unknown, or the visit id is taken',
  CLOUD_REQUEST_FAILED:
    'a request to the cloud failed: unreachable, timed out, or answered with an error or an unexpected body',
  BROKER_IDENTITY_INVALID:
    'an MQTT identity cannot be granted: an unknown role, or a store, device or gate id that is empty or holds /, + or #',
  BROKER_ACCESS_REFUSED:
    "the MQTT broker refused a client's login or subscription (a wrong username or password, a revoked account, a topic outside its grant)",
  BROKER_REFUSED:
    'the MQTT broker refused or did not answer an administrative command (granting or revoking a client)',
  DEVICE_KIND_REFUSED:
    "a device's credentials are valid but its kind may not make this request (an edge scanning at a gate)",
  GATE_NOT_CONTROLLED: 'a gate controller acted for a gate it does not control',
  FLOOR_PLAN_UNFIT:
    'store floor-plan parameters cannot fit (too many gondolas for the floor, too few plates, …)',
  OUTBOX_IN_USE:
    'another live edge process holds the outbox directory: two would hand out the same sequence numbers',
  CHECKPOINT_INVALID:
    "the edge's saved state cannot be restored (written by another version, or damaged); the edge starts empty",
  TRACK_ID_INVALID: 'a track id is not of the form the floor tracker gives (t followed by a number)',
  EVIDENCE_ID_INVALID:
    'an evidence request names a weight event, camera or frame that is not of the form the edge gives (shelfId@startMs, a camera id, a frame number)',
  EVIDENCE_UNKNOWN:
    'the edge keeps no evidence for this weight event or frame: never resolved here, or older than the retention',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class WalkoutError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'WalkoutError';
    this.code = code;
    this.details = details;
  }
}

export function isWalkoutError(err: unknown, code?: ErrorCode): err is WalkoutError {
  return err instanceof WalkoutError && (code === undefined || err.code === code);
}
