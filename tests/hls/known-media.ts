// Known media for HLS tests, sent by the real pages through the real SFU and read back out of what the HLS
// bridge wrote. In the browser (init script): the camera is a canvas of one flat colour carrying the
// milliseconds since it started as 24 black/white blocks (its "content time"), the screen is two colour bars,
// the microphone a sine of a chosen frequency (WebAudio). In the test: the colour of a region of a frame, the
// content time of a frame, and the strength of a frequency in a segment's audio, all decoded with ffmpeg.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const CAMERA = { width: 640, height: 360, fps: 25, rgb: [30, 60, 200] as Rgb };
export const SCREEN = { width: 960, height: 540, fps: 15, left: [230, 200, 20] as Rgb, right: [200, 30, 160] as Rgb };
/** Content-time blocks: two rows of 12 in the camera's lower-left quarter, as fractions of the picture. */
const BLOCKS = { bits: 24, perRow: 12, x: 0.03, y: 0.62, w: 0.045, h: 0.1 };

export type Rgb = [number, number, number];

/**
 * The page side: getUserMedia answers the known camera and a sine of `toneHz` for the microphone,
 * getDisplayMedia the colour bars. Pages that never open a device are not affected.
 */
export function knownMediaScript(toneHz: number): string {
  return `(() => {
  const CAMERA = ${JSON.stringify(CAMERA)}, SCREEN = ${JSON.stringify(SCREEN)}, BLOCKS = ${JSON.stringify(BLOCKS)};
  const rgb = (c) => 'rgb(' + c.join(',') + ')';
  let audio;
  const camera = () => {
    const canvas = Object.assign(document.createElement('canvas'), { width: CAMERA.width, height: CAMERA.height });
    const g = canvas.getContext('2d');
    const t0 = performance.now();
    let n = 0;
    const draw = () => {
      const t = Math.round(performance.now() - t0);
      g.fillStyle = rgb(CAMERA.rgb); g.fillRect(0, 0, CAMERA.width, CAMERA.height);
      // Something moves, so the encoder works as with a real camera (away from the blocks and the probes).
      g.fillStyle = '#ccc'; g.fillRect(CAMERA.width * 0.55 + (n++ * 4) % (CAMERA.width * 0.3), CAMERA.height * 0.1, 24, 24);
      const bw = CAMERA.width * BLOCKS.w, bh = CAMERA.height * BLOCKS.h;
      for (let i = 0; i < BLOCKS.bits; i++) {
        g.fillStyle = (t >>> (BLOCKS.bits - 1 - i)) & 1 ? '#fff' : '#000';
        g.fillRect(CAMERA.width * BLOCKS.x + (i % BLOCKS.perRow) * bw, CAMERA.height * BLOCKS.y + Math.floor(i / BLOCKS.perRow) * bh, bw, bh);
      }
      window.__cameraTime = t;
    };
    draw();
    setInterval(draw, 1000 / CAMERA.fps);
    return canvas.captureStream(CAMERA.fps).getVideoTracks()[0];
  };
  const bars = () => {
    const canvas = Object.assign(document.createElement('canvas'), { width: SCREEN.width, height: SCREEN.height });
    const g = canvas.getContext('2d');
    const draw = () => {
      g.fillStyle = rgb(SCREEN.left); g.fillRect(0, 0, SCREEN.width / 2, SCREEN.height);
      g.fillStyle = rgb(SCREEN.right); g.fillRect(SCREEN.width / 2, 0, SCREEN.width / 2, SCREEN.height);
    };
    draw();
    setInterval(draw, 1000 / SCREEN.fps);
    return canvas.captureStream(SCREEN.fps).getVideoTracks()[0];
  };
  const tone = () => {
    audio ??= new AudioContext({ sampleRate: 48000 });
    const osc = audio.createOscillator();
    osc.frequency.value = ${toneHz};
    const gain = audio.createGain();
    gain.gain.value = 0.3;
    const out = audio.createMediaStreamDestination();
    osc.connect(gain).connect(out);
    osc.start();
    return out.stream.getAudioTracks()[0];
  };
  const md = navigator.mediaDevices;
  md.getUserMedia = async (c) => {
    const tracks = [];
    if (c && c.video) tracks.push(camera());
    if (c && c.audio) tracks.push(tone());
    return new MediaStream(tracks);
  };
  md.getDisplayMedia = async () => new MediaStream([bars()]);
})();`;
}

async function rawFrame(input: string, atSeconds: number, filter: string, pixFmt: 'rgb24' | 'gray'): Promise<Buffer> {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-i',
      input,
      '-ss',
      atSeconds.toFixed(2),
      '-frames:v',
      '1',
      '-vf',
      filter,
      '-pix_fmt',
      pixFmt,
      '-f',
      'rawvideo',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  if (stdout.length === 0) throw new Error(`ffmpeg decoded no frame at ${atSeconds} s of ${input}`);
  return stdout;
}

/** A region of a picture, as fractions of its width and height. */
export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The mean colour of a region of the frame `atSeconds` into a segment or playlist (file or URL). */
export async function regionColor(input: string, region: Region, atSeconds = 0.5): Promise<Rgb> {
  // Seeking after the input (decode and drop): an input seek into a short MPEG-TS segment finds no frame.
  const crop = `crop=iw*${region.w}:ih*${region.h}:iw*${region.x}:ih*${region.y},scale=1:1:flags=area`;
  const px = await rawFrame(input, atSeconds, crop, 'rgb24');
  return [px[0]!, px[1]!, px[2]!];
}

/** Sum of the channel differences (0 = same colour, 765 = black against white). */
export function colorDistance(a: Rgb, b: Rgb): number {
  return Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]);
}

/** The camera's content time (ms since it started) shown by the frame `atSeconds` into `input`, or null when unreadable. */
export async function contentTime(input: string, atSeconds: number): Promise<number | null> {
  // The blocks' area, scaled so that each block is 4x4 pixels; each block is read at its centre.
  const cols = BLOCKS.perRow;
  const rows = Math.ceil(BLOCKS.bits / cols);
  const crop = `crop=iw*${BLOCKS.w * cols}:ih*${BLOCKS.h * rows}:iw*${BLOCKS.x}:ih*${BLOCKS.y},scale=${cols * 4}:${rows * 4}:flags=area`;
  const px = await rawFrame(input, atSeconds, crop, 'gray').catch(() => null);
  if (!px) return null;
  let t = 0;
  for (let i = 0; i < BLOCKS.bits; i++) {
    const x = (i % cols) * 4 + 2;
    const y = Math.floor(i / cols) * 4 + 2;
    const lum = px[y * cols * 4 + x]!;
    // A block half-way between black and white is a misread (a frame caught mid-transition).
    if (lum > 80 && lum < 175) return null;
    t = t * 2 + (lum >= 128 ? 1 : 0);
  }
  return t;
}

/**
 * How strong each frequency is in the audio of `input` (mono, 48 kHz), as a share of the signal's energy:
 * near 1 for the only tone, about 1/2 each for two equal tones, near 0 for a frequency nobody sent. Goertzel
 * over 85 ms blocks (about 12 Hz wide), averaged over the blocks that carry sound.
 */
export async function toneStrengths(input: string, frequencies: number[]): Promise<number[]> {
  const { stdout } = await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-i', input, '-vn', '-ac', '1', '-ar', '48000', '-f', 's16le', '-'],
    {
      encoding: 'buffer',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const samples = new Float64Array(stdout.length / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = stdout.readInt16LE(i * 2) / 32768;
  const block = 4096;
  const sums = frequencies.map(() => 0);
  let blocks = 0;
  for (let start = 0; start + block <= samples.length; start += block) {
    const part = samples.subarray(start, start + block);
    const energy = part.reduce((sum, s) => sum + s * s, 0);
    if (energy / block < 1e-6) continue; // silence
    blocks++;
    frequencies.forEach((f, i) => {
      const coeff = 2 * Math.cos((2 * Math.PI * f) / 48000);
      let s1 = 0;
      let s2 = 0;
      for (const x of part) {
        const s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      // A pure tone of amplitude A over N samples gives power (A N / 2)^2 and energy A^2 N / 2.
      sums[i]! += (s1 * s1 + s2 * s2 - coeff * s1 * s2) / ((energy * block) / 2);
    });
  }
  return sums.map((sum) => (blocks ? sum / blocks : 0));
}
