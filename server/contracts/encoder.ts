// Encoders (WHIP): what the studio reads about a class's stream key and the encoder publishing it.

/** POST /api/classes/:classId/stream-key: the new key, shown once (only its hash is kept). */
export interface StreamKeyMade {
  key: string;
  whipUrl: string;
}

/** The incoming stream as the SFU measures it. */
export interface EncoderStats {
  /** Bits per second over all tracks (mediasoup's receive rate). */
  bitrate: number;
  video: { mimeType: string; layers: number; width: number | null; height: number | null; frameRate: number | null } | null;
  audio: { mimeType: string } | null;
}

/** GET /api/classes/:classId/encoder */
export interface EncoderView {
  whipUrl: string;
  /** The current key was made then; null when the class has none yet. */
  streamKey: { createdAt: string } | null;
  session: (EncoderStats & { id: string; startedAt: string; connected: boolean }) | null;
}
