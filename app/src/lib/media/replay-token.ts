// A fresh signed token for a recording's media, for HlsPlayer's refreshToken (tokens are short-lived).
import type { ReplayView } from '@lectern/contracts/media';
import { api } from '#lib/api/client.ts';
import { mediaToken } from './media-token.ts';

export async function freshReplayToken(recordingId: string): Promise<string> {
  const fresh = await api<ReplayView>(`/media/recordings/${recordingId}`);
  return mediaToken(fresh.recording.playlistUrl ?? '') ?? '';
}
