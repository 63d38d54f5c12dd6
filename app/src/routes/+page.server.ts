import type { PageServerLoad } from './$types';
import { pageServer } from '../../../server/pages/page-server.ts';

export const load: PageServerLoad = async () => ({ classes: await pageServer().liveAndUpcomingClasses() });
