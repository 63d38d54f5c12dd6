// A published track of a live class, as the room hands it to consumers (students, the HLS bridge).
import type { types } from 'mediasoup';
import type { MediaKind, MediaSourceName } from '../contracts/sfu.ts';

export type MediaSource = {
  source: MediaSourceName;
  kind: MediaKind;
  producer: types.Producer;
  userId: string;
};

/** What a producer's appData carries, so any holder of the producer knows its source and owner. */
export interface ProducerAppData extends types.AppData {
  source: MediaSourceName;
  userId: string;
  displayName: string;
}
