// One capture device of this browser (the camera or the microphone) as the pages use it: its current track,
// which device it came from, switched on or off, why it failed to open, and the devices to choose from.
// Opening another device swaps the track (the page's `adopt` hands it on, e.g. to the media session) and stops
// the old one. stop() releases it.
import { describeMediaError, listDevices, openCamera, openMicrophone, type DeviceChoice } from './devices.ts';

export type LocalDeviceKind = 'camera' | 'microphone';

export class LocalDevice {
  readonly kind: LocalDeviceKind;
  track = $state<MediaStreamTrack | undefined>();
  /** The device the track comes from ('' before it opened). */
  deviceId = $state('');
  /** Switched on (a switched-off track stays open, disabled: switching back is instant). */
  on = $state(true);
  /** Why the last opening failed, in words the user can act on. */
  error = $state<string | undefined>();
  choices = $state<DeviceChoice[]>([]);

  readonly #adopt: (track: MediaStreamTrack) => Promise<unknown>;

  /** `adopt` takes each newly opened track before the old one stops (publish it, or replace the sent one). */
  constructor(kind: LocalDeviceKind, adopt: (track: MediaStreamTrack) => Promise<unknown> = async () => {}) {
    this.kind = kind;
    this.#adopt = adopt;
  }

  /** Opens `deviceId` (or the browser's default): true when it opened; a failure is kept in `error`. */
  async open(deviceId?: string): Promise<boolean> {
    try {
      const track = await (this.kind === 'camera' ? openCamera : openMicrophone)(deviceId || undefined);
      const old = this.track;
      this.track = track;
      this.deviceId = track.getSettings().deviceId ?? deviceId ?? '';
      this.error = undefined;
      await this.#adopt(track);
      track.enabled = this.on;
      old?.stop();
      return true;
    } catch (err) {
      this.error = describeMediaError(err, this.kind);
      return false;
    }
  }

  /** The devices of this kind; their names are known once one has opened. */
  async refresh(): Promise<void> {
    this.choices = await listDevices(this.kind === 'camera' ? 'videoinput' : 'audioinput');
  }

  /** Switches it on or off; returns the new state. */
  toggle(): boolean {
    this.on = !this.on;
    if (this.track) this.track.enabled = this.on;
    return this.on;
  }

  stop(): void {
    this.track?.stop();
    this.track = undefined;
  }
}
