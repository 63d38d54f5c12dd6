// The worker we build offline, proven with a real WebRTC client (werift): ICE + DTLS complete (the kTLS BIO
// trap would crash here), SRTP and SRTCP flow both ways, once per SRTP profile (AES-GCM and AES-CM), with
// libsrtp2's OpenSSL crypto inside the binary.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function runSmokeTest(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['scripts/worker/smoke-test.mjs'], { timeout: 90_000, env: process.env }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

describe('mediasoup-worker built offline', () => {
  it('completes DTLS with werift and moves SRTP media both ways for both SRTP profiles', async () => {
    const { code, stdout, stderr } = await runSmokeTest();
    const out = stdout + stderr;
    // libsrtp2 built with OpenSSL and linked in, not Debian's NSS-backed libsrtp2.so (~7x slower per packet).
    expect(out).toMatch(/SRTP crypto: OpenSSL \(libsrtp2 linked in statically\)/);
    expect(out).toMatch(/DTLS connected on both transports, SRTP profile AEAD_AES_128_GCM/);
    expect(out).toMatch(/DTLS connected on both transports, SRTP profile AES128_CM_HMAC_SHA1_80/);
    // Bytes the worker decrypted from werift (SRTP unprotect) and packets werift decrypted from it (protect).
    const received = [...out.matchAll(/rtpBytesReceived=(\d+)/g)].map((m) => Number(m[1]));
    const decrypted = [...out.matchAll(/werift decrypted (\d+) RTP packets/g)].map((m) => Number(m[1]));
    expect(received).toHaveLength(2);
    expect(received.every((b) => b > 0)).toBe(true);
    expect(decrypted.every((n) => n > 0)).toBe(true);
    expect(out).toMatch(/^OK$/m);
    expect(code).toBe(0);
  });
});
