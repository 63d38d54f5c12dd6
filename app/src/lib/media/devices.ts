// Cameras, microphones and screens: opening them with sensible constraints, and turning the browser's
// errors into sentences a teacher can act on.

export interface DeviceChoice {
  deviceId: string;
  label: string;
}

export async function listDevices(kind: 'videoinput' | 'audioinput'): Promise<DeviceChoice[]> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return all
    .filter((d) => d.kind === kind && d.deviceId)
    .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}` }));
}

export async function openCamera(deviceId?: string): Promise<MediaStreamTrack> {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: {
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
      width: { ideal: 1280 },
      height: { ideal: 720 },
      frameRate: { ideal: 30, max: 30 },
    },
  });
  return stream.getVideoTracks()[0]!;
}

export async function openMicrophone(deviceId?: string): Promise<MediaStreamTrack> {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: {
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
    },
  });
  return stream.getAudioTracks()[0]!;
}

/** The screen (or window/tab), with its audio when the browser offers it (Chromium: tabs and whole screens). */
export async function openScreen(): Promise<{ video: MediaStreamTrack; audio: MediaStreamTrack | undefined }> {
  const stream = await navigator.mediaDevices.getDisplayMedia({
    video: { frameRate: { ideal: 15, max: 30 }, width: { max: 1920 }, height: { max: 1080 } },
    audio: true,
  });
  return { video: stream.getVideoTracks()[0]!, audio: stream.getAudioTracks()[0] };
}

/** A user-facing explanation of a getUserMedia/getDisplayMedia failure. */
export function describeMediaError(err: unknown, what: 'camera' | 'microphone' | 'screen'): string {
  const name = (err as { name?: string })?.name;
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return what === 'screen'
        ? 'Screen sharing was not allowed.'
        : `Lectern has no permission to use your ${what}. Allow it in the address bar, then try again.`;
    case 'NotReadableError':
    case 'AbortError':
      return `Your ${what} is busy: another application (or tab) is using it. Close it and try again.`;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `No ${what} was found. Connect one, or choose another in the list.`;
    default:
      return `Could not open your ${what}: ${(err as Error)?.message ?? String(err)}`;
  }
}
