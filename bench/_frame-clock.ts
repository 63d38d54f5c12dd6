// The frame clock both latency benchmarks use: the sending page draws its clock into every frame of a
// canvas stream, the receiving page reads it back from every presented frame. Both pages run in one
// Chromium, so they share the clock, and "now - drawn" is the glass-to-glass latency of that frame.

/**
 * Runs in the page: a 1280x720 canvas stream at 30 fps. Each frame shows moving content (so the encoder works
 * as with a real camera; the WebRTC bench uses a gradient, the HLS bench a flat colour that survives the
 * lowest rung) and the drawing time (ms since the epoch, low 32 bits) as two rows of 16 blocks.
 */
export const clockCanvas = (background: 'gradient' | 'solid'): string => `
window.__clockStream = () => {
  const canvas = document.createElement('canvas');
  canvas.width = 1280; canvas.height = 720;
  const g = canvas.getContext('2d');
  let n = 0;
  const draw = () => {
    n++;
    if (${background === 'gradient'}) {
      const grad = g.createLinearGradient(0, 0, 1280, 720);
      grad.addColorStop(0, 'hsl(' + (n * 3) % 360 + ',60%,45%)');
      grad.addColorStop(1, 'hsl(' + (n * 3 + 120) % 360 + ',60%,35%)');
      g.fillStyle = grad;
    } else {
      g.fillStyle = 'hsl(' + (n * 3) % 360 + ',50%,40%)';
    }
    g.fillRect(0, 0, 1280, 720);
    g.fillStyle = '#ddd'; g.fillRect((n * 12) % 1280, 420, 120, 120);
    const t = (performance.timeOrigin + performance.now()) >>> 0;
    for (let i = 0; i < 32; i++) {
      g.fillStyle = (t >>> (31 - i)) & 1 ? '#fff' : '#000';
      g.fillRect(40 + (i % 16) * 75, 40 + Math.floor(i / 16) * 150, 75, 150);
    }
  };
  draw();
  setInterval(draw, 1000 / 30);
  return canvas.captureStream(30);
};
`;

/**
 * Runs in the page: reads the time from every presented frame of `video` and records now - sent, up to
 * `maxLatencyMs` (anything larger is a misread frame).
 */
export const clockReader = (maxLatencyMs: number): string => `
window.__readClock = (video) => {
  const canvas = document.createElement('canvas');
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const samples = [];
  let size = [0, 0];
  let recording = false;
  const onFrame = (now, meta) => {
    const w = meta.width, h = meta.height;
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    g.drawImage(video, 0, 0, w, h);
    const px = g.getImageData(0, 0, w, h).data;
    let t = 0;
    for (let i = 0; i < 32; i++) {
      const x = Math.round(((40 + (i % 16) * 75 + 37) / 1280) * w);
      const y = Math.round(((40 + Math.floor(i / 16) * 150 + 75) / 720) * h);
      const o = (y * w + x) * 4;
      const lum = 0.299 * px[o] + 0.587 * px[o + 1] + 0.114 * px[o + 2];
      t = (t * 2) + (lum > 128 ? 1 : 0);
    }
    const here = (performance.timeOrigin + now) >>> 0;
    const latency = (here - t) >>> 0;
    if (recording && latency < ${maxLatencyMs}) samples.push(latency);
    size = [w, h];
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  return { start() { recording = true; samples.length = 0; }, stop() { recording = false; return { samples: samples.slice(), size }; } };
};
`;
